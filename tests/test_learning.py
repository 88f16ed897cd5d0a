"""The real trainer learns the shipped Catch pixel game from the README's own command,
`python run_dqn.py --flagfile flags/catch.flags --algorithm X`, for every agent, and beats a
random policy measured in the same test."""

import os
import threading

import numpy as np
import pytest

from async_deeprl import agents, environment, evaluation, settings, training
from async_deeprl.config import TrainConfig
from async_deeprl.agents import policies

pytestmark = pytest.mark.slow  # learning, crash and notebook runs: the slow lane

CATCH = "async_deeprl.games:Catch-v0"
CATCH_FLAGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "flags", "catch.flags")
# Checks in global agent steps. The run is the flagfile's (30,000 steps; its optimizer, Adam,
# keeps a constant rate and epsilon has reached its floor by 10,000, so a run continued past
# 30,000 goes on as it was); it stops at the first check whose eval clears the floor (one-step
# Q and SARSA usually at 10,000, n-step Q and A3C at 10,000 or 15,000: docs/results.md).
# Threads interleave differently each run (seeds fix only the environments and weights), so a
# slow run gets a last check at 45,000, past the README's run.
FLAGFILE_STEPS = 30_000
CHECKS = (10_000, 15_000, 20_000, 30_000, 45_000)
# DQN (a minibatch update every step from its first 1,000) clears the bar by 5,000 (8.7 to 9.6
# in five runs), so its test looks there first; for the others a check they fail costs its eval,
# stop and resume (about 8 s): at 5,000 none of them cleared it, at 7,500 only one-step Q.
EARLY_CHECK = dict(dqn=5_000)
# The README's promise is a 20-game --eval mean of at least +5; here 30 games, and at least
# 10 points above the random policy (about -7; scores are in [-10, 10]).
LEAST, MARGIN = 5.0, 10.0


def train_until(config, step):
    """Runs the real trainer on `config` (resuming its logdir) and stops it, through the
    same stop event as SIGTERM, once the global step reaches `step`; returns its summary."""
    stop = threading.Event()
    trainer = training.make_trainer(config, stop, show_progress=False)

    def watch():
        while not stop.wait(0.05):
            if trainer.timing()[0] >= step:
                stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return trainer.run()
    finally:
        stop.set()
        watcher.join()


# Agents whose learning test plays another shipped game, and where it is.
LEARNED_ELSEWHERE = {"a3c_lstm": "tests/test_a3c_lstm.py: the Cue game, which needs memory "
                                 "(it learns Catch from the flagfile too: docs/results.md)"}
LEARNS_CATCH = [name for name in agents.NAMES if name not in LEARNED_ELSEWHERE]


def test_every_agent_has_a_learning_test():
    assert set(LEARNS_CATCH) | set(LEARNED_ELSEWHERE) == set(agents.NAMES)
    assert len(LEARNS_CATCH) >= 5


def test_the_flagfile_is_the_readmes_catch_run():
    """The test runs flags/catch.flags as it is (no agent gets settings of its own): the
    flagfile's length is a check, and nothing changes past it but the step count."""
    config = settings.from_flagfile(TrainConfig, CATCH_FLAGS)
    assert config.game == CATCH and config.total_frames == FLAGFILE_STEPS in CHECKS
    assert config.optimizer == "adam" and config.eps_steps <= CHECKS[0]


@pytest.mark.parametrize("algorithm", LEARNS_CATCH)
def test_trainer_learns_catch_from_the_flagfile_and_beats_a_random_policy(tmp_path, algorithm):
    """flags/catch.flags with only --algorithm (a logdir, and room for the last check) is
    stopped at each check, resumed after it, and its checkpoint plays 30 greedy games as
    `--eval --eval_policy greedy` does (the value-based agents always play greedily; A3C's
    default samples, which scores at most as well: docs/results.md "Catch from the flagfile");
    the test passes at the first check that clears the floor and fails if none does."""
    config = settings.from_flagfile(TrainConfig, CATCH_FLAGS, algorithm=algorithm,
                                    logdir=str(tmp_path / "catch"), total_frames=CHECKS[-1])
    env = environment.make_env(CATCH, action_repeat=1, seed=123)
    random_games = evaluation.play_games(env, policies.random_policy, 30,
                                         np.random.default_rng(0), 1000)
    random_mean = evaluation.summarize(random_games)["mean"]
    assert random_mean < -3  # Random play misses most blocks (about -7).
    syncs, means = 0, []
    checks = (EARLY_CHECK[algorithm], *CHECKS) if algorithm in EARLY_CHECK else CHECKS
    for check in checks:
        summary = train_until(config, check)
        assert check <= summary["step"] <= check + 200  # stopped at the check, not before
        if check == CHECKS[-1]:
            assert summary["step"] == check  # the budget met exactly
        syncs += summary["target_syncs"]
        played = evaluation.evaluate_logdir(config.logdir, str(tmp_path / f"eval-{check}"), 30,
                                            0.0, 1000, seed=123, video=False, mode="greedy")
        assert played["algorithm"] == algorithm
        means.append(played["mean"])
        print(f"Catch, {algorithm}: {played['policy']} mean {played['mean']:.2f} at "
              f"T={summary['step']} vs random mean {random_mean:.2f} over 30 games")
        if played["mean"] >= random_mean + MARGIN and played["mean"] >= LEAST:
            break
    # Exactly once per --update_interval over the resumed legs, for agents with a target network.
    expected = summary["step"] // config.update_interval
    assert syncs == (expected if agents.get(algorithm).uses_target_network else 0)
    assert means[-1] >= random_mean + MARGIN and means[-1] >= LEAST, (
        f"means {means} at checks {checks[:len(means)]}")
