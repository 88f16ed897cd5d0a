"""Checkpoints and the run description kept in a log directory.

A checkpoint holds the agent's trackables (whatever its `checkpoint_items`
names: for the value-based agents the online and target weights, optimizer
slots and per-thread final epsilons) plus the global step T and the emulator
frame count. `tf.train.CheckpointManager` writes the data files
first and the index file last, so a save cut short is never the "latest"; it
leaves a `ckpt-N_temp` folder, removed when a Checkpointer is next created.
"""

import glob
import json
import os
import shutil

import tensorflow as tf

from async_deeprl import faults

RUN_CONFIG = "run_config.json"
CHECKPOINT_DIR = "checkpoints"


class CheckpointError(ValueError):
    """A checkpoint that cannot be restored; the message is one line."""


def error_reason(error):
    """The first line of an exception's message (at most 200 characters), for one-line errors.

    TensorFlow raises many exception types with multi-line messages for damaged
    or mismatched checkpoint files.
    """
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


class Checkpointer:
    """Saves and restores an agent together with the run's progress counters."""

    def __init__(self, logdir, trackables, max_to_keep=3):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.frames = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._checkpoint = tf.train.Checkpoint(step=self.step, frames=self.frames, **trackables)
        self._directory = os.path.join(logdir, CHECKPOINT_DIR)
        self._manager = tf.train.CheckpointManager(
            self._checkpoint, self._directory, max_to_keep=max_to_keep)
        self.remove_partial_saves()

    def remove_partial_saves(self):
        """Removes the temporary folders of saves that were cut short (disk full, a kill)."""
        for path in glob.glob(os.path.join(self._directory, "ckpt-*_temp")):
            shutil.rmtree(path, ignore_errors=True)

    @property
    def latest(self):
        """Path prefix of the newest complete checkpoint, or None."""
        return self._manager.latest_checkpoint

    def restore_latest(self):
        """Restores the newest complete checkpoint; returns False if there is none."""
        latest = self._manager.latest_checkpoint
        if latest is None:
            return False
        try:
            self._checkpoint.restore(latest).assert_existing_objects_matched()
        except Exception as e:  # TF raises many types for damaged or mismatched files.
            raise CheckpointError(f"checkpoint {latest} cannot be restored ({error_reason(e)}); "
                                  "move it out of the logdir or choose another --logdir") from None
        return True

    def save(self, step, frames):
        """Writes a checkpoint numbered by global agent step `step`; returns its path.

        Raises faults.WriteError (one line) if it cannot be written; the latest
        complete checkpoint is then still the one before.
        """
        self.step.assign(step)
        self.frames.assign(frames)
        try:
            return self._manager.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as e:
            self.remove_partial_saves()
            latest = self.latest
            last = (f"the last complete checkpoint is {os.path.basename(latest)}" if latest
                    else "there is no complete checkpoint yet")
            raise faults.WriteError(
                f"{faults.reason(e)} while saving the checkpoint at T={step} in "
                f"{self._directory}; {last}; free space (or fix the folder) and rerun the same "
                "command to resume") from None


def latest_checkpoint(logdir):
    """Path prefix of the newest complete checkpoint under `logdir`, or None."""
    return tf.train.latest_checkpoint(os.path.join(logdir, CHECKPOINT_DIR))


def write_run_config(logdir, config):
    """Writes the run description (game, preprocessing, network input) as JSON."""
    path = os.path.join(logdir, RUN_CONFIG)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def read_run_config(logdir):
    """The run description of `logdir`, or None if it has none.

    Raises CheckpointError (one line) if the file is there but damaged.
    """
    path = os.path.join(logdir, RUN_CONFIG)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            description = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path} cannot be read ({e}); restore it from a copy or choose "
                              "another --logdir") from None
    if not isinstance(description, dict):
        raise CheckpointError(f"{path} does not hold a run description; restore it from a copy "
                              "or choose another --logdir")
    return description
