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


def damage(path):
    """Why the checkpoint `path` (a path prefix) cannot be read, in one line, or None if every
    tensor in it reads back intact (its index parses and each value passes its checksum)."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as e:  # TF raises many types for damaged or truncated files.
        return error_reason(e)
    return None


def _checkpoints(directory):
    """Path prefixes (under `directory`) of the checkpoints its state file lists, oldest first."""
    state = tf.train.get_checkpoint_state(directory)
    if state is None:
        return []
    paths = list(state.all_model_checkpoint_paths)
    if state.model_checkpoint_path and state.model_checkpoint_path not in paths:
        paths.append(state.model_checkpoint_path)
    return paths  # TF has joined relative entries to `directory` already


def _move_aside(path, directory):
    """Moves the files of checkpoint `path` into `directory`/damaged/ (never deleted);
    returns that folder."""
    aside = os.path.join(directory, "damaged")
    os.makedirs(aside, exist_ok=True)
    for name in glob.glob(path + ".*"):
        target = os.path.join(aside, os.path.basename(name))
        while os.path.exists(target):
            target += ".again"
        shutil.move(name, target)
    return aside


def _write_state(directory, latest, names):
    """Rewrites the state file that CheckpointManager keeps in `directory` (the text form of
    TF's CheckpointState: the latest checkpoint, then every one kept), replaced atomically."""
    lines = [f'model_checkpoint_path: "{latest}"']
    lines += [f'all_model_checkpoint_paths: "{name}"' for name in names]
    path = os.path.join(directory, "checkpoint")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


def newest_intact_checkpoint(logdir, say=print):
    """Path prefix of the newest checkpoint under `logdir` whose files are intact, or None if
    it has none. Damaged newer ones (bytes overwritten, a file cut short) are moved to
    checkpoints/damaged/ and dropped from the state file, each named in one line by `say`;
    if no checkpoint is intact nothing is moved and CheckpointError (one line) says so."""
    directory = os.path.join(logdir, CHECKPOINT_DIR)
    paths = _checkpoints(directory)
    damaged = []
    for path in reversed(paths):
        if not os.path.exists(path + ".index") and not glob.glob(path + ".data-*"):
            continue  # listed but gone (removed by hand): not a checkpoint to use or move
        reason = damage(path)
        if reason is None:
            break
        damaged.append((path, reason))
    else:
        if damaged:
            names = ", ".join(os.path.basename(p) for p, _ in damaged)
            raise CheckpointError(
                f"no intact checkpoint in {directory}: {names} cannot be read "
                f"({damaged[0][1]}); restore them from a copy or choose another --logdir")
        return None
    for bad, reason in damaged:
        aside = _move_aside(bad, directory)
        say(f"checkpoint {os.path.basename(bad)} is damaged ({reason}); moved its files to "
            f"{aside}; using {os.path.basename(path)}")
    if damaged:
        kept = [os.path.basename(p) for p in paths if p not in {bad for bad, _ in damaged}]
        _write_state(directory, os.path.basename(path), kept)
    return path


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
