"""Does --gradients_per_message cost learning? One shared-model Catch run (docs/distributed.md).

    python tools/catch_per_message.py K SEED    # e.g. 8 1; about 5 minutes on 2 cores

n-step Q, 2 workers x 2 threads, 20,000 global agent steps, with the values of the Ray Catch
learning test in tests/test_distributed.py (no worker killed; keep the two alike), then 30
greedy games.
"""
import os
import sys
import tempfile
import time

from async_deeprl import evaluation, training
from async_deeprl.config import TrainConfig


def _config(logdir, seed, per_message):
    return TrainConfig(game="async_deeprl.games:Catch-v0", logdir=str(logdir), threads=2,
                       workers=2, total_frames=20_000, action_repeat=1, eps_steps=10_000,
                       update_interval=500, log_interval=5_000, test_interval=0, seed=seed,
                       algorithm="n_step_q", gamma=0.9, lr=5e-3,
                       gradients_per_message=per_message)


def main(per_message, seed):
    with tempfile.TemporaryDirectory() as logdir:
        start = time.time()
        summary = training.train(_config(logdir, seed, per_message))
        greedy = evaluation.evaluate_logdir(logdir, os.path.join(logdir, "eval"), 30, 0.0, 1000,
                                            seed=123, video=False, mode="greedy")
        print(f"k={per_message} seed={seed}: updates {summary['updates']} messages "
              f"{summary['messages']} greedy {greedy['mean']:.2f} wall {time.time() - start:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tools/catch_per_message.py K SEED (two integers)")
    main(int(sys.argv[1]), int(sys.argv[2]))
