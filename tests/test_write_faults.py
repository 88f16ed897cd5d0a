"""A checkpoint or log that cannot be written stops the run with one line and loses nothing.

The faults are real: /dev/full (ENOSPC) and a file-size limit (RLIMIT_FSIZE, EFBIG) set on
the training process, so TensorFlow's own writer fails as it would on a full disk.
"""

import hashlib
import os
import resource
import subprocess
import sys

import pytest
import tensorflow as tf

from async_deeprl import faults, training
from async_deeprl.config import TrainConfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH = "async_deeprl.games:Catch-v0"


def test_reason_names_a_full_disk_from_python_and_from_tensorflow():
    try:
        with open("/dev/full", "w") as f:
            f.write("x")
            f.flush()
    except OSError as e:
        assert faults.reason(e) == "no space left on device"
    else:
        raise AssertionError("/dev/full accepted a write")
    try:
        tf.io.write_file("/dev/full", "x" * 100_000)
    except tf.errors.OpError as e:
        assert faults.reason(e) == "no space left on device"
    else:
        raise AssertionError("/dev/full accepted a write")


def _files(directory):
    """{relative path: sha256} of every file under `directory`."""
    out = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _limit_file_size():
    # 1 MB: the CSV and TensorBoard logs fit, a checkpoint (8 MB for Catch) does not.
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


@pytest.mark.slow  # real runs under a file-size limit
def test_checkpoint_that_cannot_be_written_stops_with_one_line_then_resumes(tmp_path):
    logdir = str(tmp_path / "run")
    args = ["--game", CATCH, "--threads", "2", "--action_repeat", "1", "--test_interval", "0",
            "--log_interval", "300", "--noxla", "--logdir", logdir]
    training.train(TrainConfig(game=CATCH, threads=2, action_repeat=1, test_interval=0,
                             log_interval=300, total_frames=600, logdir=logdir, seed=0,
                             xla=False))
    before = _files(logdir)
    os.makedirs(os.path.join(logdir, "checkpoints", "ckpt-5_temp"))  # a save cut short earlier
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    full = subprocess.run([sys.executable, os.path.join(REPO, "run_dqn.py"), *args,
                           "--total_frames", "1200"], capture_output=True, text=True, env=env,
                          timeout=300, preexec_fn=_limit_file_size)
    print(full.stdout, full.stderr)
    assert full.returncode == 1
    error = full.stderr.strip()
    assert len(error.splitlines()) == 1, error
    assert error.startswith("error: file too large while saving the checkpoint at T="), error
    assert error.endswith(f"in {logdir}/checkpoints; the last complete checkpoint is ckpt-600; "
                          "free space (or fix the folder) and rerun the same command to resume")
    after = _files(logdir)
    for path, digest in before.items():  # The checkpoints and run description are untouched,
        if path.startswith("checkpoints/") or path == "run_config.json":
            assert after[path] == digest, path
    # no temporary folder is left, and the logs hold no row past the last checkpoint.
    assert not [p for p in os.listdir(os.path.join(logdir, "checkpoints")) if "_temp" in p]
    with open(os.path.join(logdir, "train.csv")) as f:
        steps = [int(line.split(",")[0]) for line in f.readlines()[1:]]
    assert steps and max(steps) <= 600

    resumed = subprocess.run([sys.executable, os.path.join(REPO, "run_dqn.py"), *args,
                              "--total_frames", "1200"], capture_output=True, text=True, env=env,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith(f"resuming from {logdir}/checkpoints/ckpt-600 at T=600")
    assert tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints")).endswith("ckpt-1200")
