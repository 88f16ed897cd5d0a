"""A damaged newest checkpoint (bytes overwritten, a file cut short): training resumes, --eval
plays and export copies from the newest intact one; the damaged files are moved aside, never
deleted, and one line says which was damaged and which is used."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

from async_deeprl import checkpointing

pytestmark = pytest.mark.slow  # a real resume, eval or export per case

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH = "async_deeprl.games:Catch-v0"


def _names(logdir):
    """The checkpoints the logdir's state file lists, oldest first (latest last)."""
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(os.path.join(logdir, "checkpoints"))
    names = [os.path.basename(p) for p in state.all_model_checkpoint_paths]
    assert names[-1] == os.path.basename(state.model_checkpoint_path)
    return names


def _overwrite_bytes(path):
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) // 2)
        f.write(b"\xff" * 64)


def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(100)


def _run(args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300,
                          cwd=REPO)


# Both kinds of damage on resume; --eval and export share its detection and move-aside, so
# one kind each.
@pytest.mark.parametrize("use,harm", [("resume", _overwrite_bytes), ("resume", _truncate),
                                      ("eval", _truncate), ("export", _overwrite_bytes)])
def test_a_damaged_newest_checkpoint_is_moved_aside_and_the_next_one_used(
        catch_run, tmp_path, harm, use):
    logdir = str(tmp_path / "run")
    shutil.copytree(catch_run, logdir)
    names = _names(logdir)
    assert len(names) == 3 and names[-1] == "ckpt-300"
    previous, step = names[-2], int(names[-2].split("-")[1])
    data = glob.glob(os.path.join(logdir, "checkpoints", "ckpt-300.data-*"))[0]
    harm(data)
    with open(data, "rb") as f:
        damaged_bytes = f.read()
    if use == "resume":
        result = _run(["run_dqn.py", "--game", CATCH, "--action_repeat", "1", "--threads", "1",
                       "--total_frames", "400", "--log_interval", "100", "--test_interval", "0",
                       "--seed", "0", "--noxla", "--logdir", logdir])
    elif use == "eval":
        result = _run(["run_dqn.py", "--eval", "--logdir", logdir, "--eval_iter", "1",
                       "--video=false"])
    else:
        result = _run(["-m", "async_deeprl.export", logdir, str(tmp_path / "exported")])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    said = [line for line in lines if line.startswith("checkpoint ckpt-300 is damaged (")]
    assert len(said) == 1 and said[0].endswith(
        f"); moved its files to {logdir}/checkpoints/damaged; using {previous}"), result.stdout
    assert result.stderr.strip() == "", result.stderr  # no TensorFlow warning lines
    aside = os.path.join(logdir, "checkpoints", "damaged")
    assert sorted(os.listdir(aside)) == ["ckpt-300.data-00000-of-00001", "ckpt-300.index"]
    with open(os.path.join(aside, os.path.basename(data)), "rb") as f:
        assert f.read() == damaged_bytes  # kept as it was
    if use == "resume":
        assert any(line.startswith(f"resuming from {logdir}/checkpoints/{previous} at T={step}")
                   for line in lines), result.stdout
        assert checkpointing.latest_checkpoint(logdir).endswith("ckpt-400")
    elif use == "eval":
        assert _names(logdir) == names[:2]
    else:
        assert _names(logdir) == names[:2]
        assert checkpointing.latest_checkpoint(str(tmp_path / "exported")).endswith(previous)


def test_no_intact_checkpoint_moves_nothing(catch_run, tmp_path):
    logdir = str(tmp_path / "run")
    shutil.copytree(catch_run, logdir)
    for data in glob.glob(os.path.join(logdir, "checkpoints", "ckpt-*.data-*")):
        _truncate(data)
    before = sorted(os.listdir(os.path.join(logdir, "checkpoints")))
    with pytest.raises(checkpointing.CheckpointError, match=(
            r"^no intact checkpoint in .*/checkpoints: ckpt-300, ckpt-\d+, ckpt-\d+ cannot be "
            r"read \(.*\); restore them from a copy or choose another --logdir$")):
        checkpointing.newest_intact_checkpoint(logdir)
    assert sorted(os.listdir(os.path.join(logdir, "checkpoints"))) == before
