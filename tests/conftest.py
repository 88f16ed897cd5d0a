"""Shared test set-up: quiet TensorFlow logs, one TensorFlow thread pool thread per process,
make the repo root importable."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite runs two xdist workers on two cores, and their runs (and the runs they start, which
# inherit this environment) each want a TensorFlow thread per core for intra- and inter-op work:
# oversubscribed, those threads spin and wait. With one each, two concurrent 6,000-step Catch
# runs took 14-16% less time (one-step Q 21.5 -> 18.0 s, DQN 38.6 -> 32.5, A3C 20.0 -> 17.1;
# docs/tests.md). A Ray run's processes set their own (--tf_threads).
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def catch_run(tmp_path_factory):
    """A finished 300-step one-step Q Catch run (three checkpoints, the newest at T=300) to copy
    from (tests copy it and never write to it); one per test process. Uncompiled (--noxla), as
    every run that checks bookkeeping rather than learning (docs/tests.md)."""
    from async_deeprl import training
    from async_deeprl.config import TrainConfig

    logdir = str(tmp_path_factory.mktemp("catch") / "run")
    training.train(TrainConfig(game="async_deeprl.games:Catch-v0", logdir=logdir, threads=1,
                             total_frames=300, action_repeat=1, log_interval=100,
                             test_interval=0, seed=0, xla=False))
    return logdir


def pytest_collection_modifyitems(config, items):
    """Slow tests first, each lane otherwise in file order: under xdist both workers start on
    the long runs and the short tests fill in at the end, so no long test starts last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
