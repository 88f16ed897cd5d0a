"""Does --gradients_per_message cost learning? One shared-model Catch run (docs/distributed.md).

    python tools/catch_per_message.py K SEED    # e.g. 8 1; about 5 minutes on 2 cores

n-step Q, 2 workers x 2 threads, 20,000 global agent steps, with the settings of the Ray Catch
learning test in tests/test_distributed.py (no worker killed), then 30 greedy games.
"""
import os
import sys
import tempfile
import time

from async_deeprl import evaluation
from async_deeprl import runner

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from test_distributed import RAY_LEARNING, _config  # noqa: E402  (the test's settings, once)


def main(per_message, seed):
    with tempfile.TemporaryDirectory() as logdir:
        start = time.time()
        summary = runner.train(_config(logdir, 20_000, workers=2, threads=2, seed=seed,
                                       gradients_per_message=per_message, **RAY_LEARNING))
        greedy = evaluation.evaluate_logdir(logdir, os.path.join(logdir, "eval"), 30, 0.0, 1000,
                                            seed=123, video=False, mode="greedy")
        print(f"k={per_message} seed={seed}: updates {summary['updates']} messages "
              f"{summary['messages']} greedy {greedy['mean']:.2f} wall {time.time() - start:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tools/catch_per_message.py K SEED (two integers)")
    main(int(sys.argv[1]), int(sys.argv[2]))
