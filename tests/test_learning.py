"""The real trainer, unchanged, learns the shipped Catch pixel game in bounded time, per agent."""

import numpy as np
import pytest

from async_deeprl import agents, environment, evaluation, runner
from async_deeprl.config import TrainConfig

CATCH = "async_deeprl.games:Catch-v0"


# (global agent steps, initial learning rate) per agent. n-step Q regresses on returns of the
# epsilon-greedy behaviour over 5 steps and, RMSProp normalising each update's size, makes a
# fifth of one-step Q's updates, so it needs more steps and a larger rate: greedy means measured
# at (60,000, 2e-3) 8.5, 9.2, 9.3 and once -1.7 (a CI run); at (60,000, 5e-3) 10.0, 9.5 (seed 1)
# and 9.6 (seed 2); at (60,000, 1e-2) 9.2 and 2.4. With --tmax 1 it is one-step Q and scores 9.5
# at (30,000, 3e-3), as one-step Q does.
BUDGET = dict(one_step_q=(30_000, 3e-3), one_step_sarsa=(30_000, 3e-3), n_step_q=(60_000, 5e-3))
# A3C is not here yet: on this test's settings its policy collapses to one action within 10-30k
# steps and stays at random level (greedy or sampled means -7.5 to -6.5 at lr 1e-4 to 1e-2,
# tmax 5 to 60, with and without the gradient clip); one run of ten learned (-4.1 at 60,000 steps).
# See docs/algorithms.md, "The agents", a3c.


@pytest.mark.parametrize("algorithm", sorted(BUDGET))
def test_trainer_learns_catch_and_beats_a_random_policy(tmp_path, algorithm):
    steps, lr, *extra = BUDGET[algorithm]
    config = TrainConfig(
        algorithm=algorithm, game=CATCH, logdir=str(tmp_path / "catch"), threads=2,
        total_frames=steps, action_repeat=1, lr=lr, eps_steps=10_000, update_interval=500,
        log_interval=5_000, test_interval=0, seed=1, **dict(extra))
    summary = runner.train(config)
    assert summary["step"] == steps
    # Exactly once per 500 global steps, for the agents with a target network.
    syncs = steps // 500 if agents.get(algorithm).uses_target_network else 0
    assert summary["target_syncs"] == syncs

    env = environment.make_env(CATCH, action_repeat=1, seed=123)
    random_games = evaluation.play_games(env, evaluation.random_policy, 30,
                                         np.random.default_rng(0), 1000)
    random_mean = evaluation.summarize(random_games)["mean"]
    greedy = evaluation.evaluate_logdir(config.logdir, str(tmp_path / "eval"), 30, 0.0, 1000,
                                        seed=123, video=False)
    print(f"Catch, {algorithm}: greedy mean {greedy['mean']:.2f} vs random mean "
          f"{random_mean:.2f} over 30 games")
    # Scores are in [-10, 10]; random play misses most blocks (about -6).
    assert greedy["algorithm"] == algorithm
    assert random_mean < -3
    assert greedy["mean"] >= random_mean + 10
    assert greedy["mean"] >= 6
