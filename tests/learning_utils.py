"""The learning tests' run: the real trainer, its checkpoints played as `--eval` plays them while
the run goes on, stopped at the first checkpoint that clears the test's bar."""

import threading

import numpy as np

from async_deeprl import checkpointing, environment, evaluation, training
from async_deeprl.agents import policies

# Every learning test plays 30 greedy games per checkpoint (as `--eval --eval_iter 30
# --eval_policy greedy --seed 123` does) and as many random ones, on the same seeds.
GAMES, SEED, MAX_STEPS = 30, 123, 1000


def random_mean(game, **env_kwargs):
    """The mean score of a uniformly random policy over GAMES games of `game`."""
    env = environment.make_env(game, seed=SEED, **env_kwargs)
    games = evaluation.play_games(env, policies.random_policy, GAMES,
                                  np.random.default_rng(0), MAX_STEPS)
    env.close()
    return evaluation.summarize(games)["mean"]


def _step(checkpoint):
    return int(checkpoint.rsplit("-", 1)[1])


def learn_until(config, first, clears):
    """Runs the trainer of `config` in this process (Ray worker processes with --workers) up
    to its --total_frames. Each checkpoint it writes at or past global step `first` (one per
    --log_interval) is played by `evaluation.evaluate_logdir` while the run goes on; the run is
    stopped, as SIGTERM stops it, once a checkpoint's mean `clears(mean)`. A run that ends
    first has its last checkpoint played too. Returns (the run's summary, [(checkpoint step,
    mean), ...] in order)."""
    stop = threading.Event()
    trainer = training.make_trainer(config, stop, show_progress=False)
    played, failed = [], []

    def play(checkpoint):
        result = evaluation.evaluate_logdir(config.logdir, None, GAMES, 0.0, MAX_STEPS,
                                            seed=SEED, video=False, mode="greedy")
        assert result["algorithm"] == config.algorithm
        played.append((_step(result["checkpoint"]), result["mean"]))
        return result["checkpoint"]

    def watch():
        seen = None
        try:
            while not stop.wait(0.1):
                latest = checkpointing.latest_checkpoint(config.logdir)
                if latest is not None and latest != seen and _step(latest) >= first:
                    # A checkpoint stays on disk for two more --log_interval's (the newest
                    # three are kept), far longer than its 30 games take.
                    seen = play(latest)
                    if clears(played[-1][1]):
                        stop.set()
        except BaseException as e:  # failed here, reported by the test's thread
            failed.append(e)
            stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        summary = trainer.run()
    finally:
        stop.set()
        watcher.join()
    if failed:
        raise failed[0]
    latest = checkpointing.latest_checkpoint(config.logdir)
    if not played or (played[-1][0] != _step(latest) and not clears(played[-1][1])):
        play(latest)  # the run's end came before the watcher saw its last checkpoint
    return summary, played
