"""Export writes the online weights of a run as a weights-only folder that --eval can play."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from agent_utils import make_agent, train_a_little
from async_deeprl import agents, checkpointing, evaluation
from async_deeprl.commands import export


def _training_logdir(path, num_actions=3, algorithm=None):
    path.mkdir()
    learner = make_agent(algorithm or "one_step_q", num_actions=num_actions)
    train_a_little(learner, 0, steps=1)
    extra = {} if algorithm is None else dict(algorithm=algorithm)  # None: a first-release run
    checkpointing.write_run_config(str(path), dict(extra,
        game="async_deeprl.games:Catch-v0", num_actions=num_actions, input_shape=[84, 84, 4],
        env=dict(action_repeat=1, memory_len=4, noop_max=0, sticky_prob=None,
                 action_set="reduced", id_frameskip=False)))
    saver = checkpointing.Checkpointer(str(path), learner.checkpoint_items())
    saver.save(step=4000, frames=4000)
    return learner


@pytest.mark.parametrize("algorithm", [None, *agents.NAMES])
def test_export_round_trip_and_eval(tmp_path, algorithm):
    learner = _training_logdir(tmp_path / "run", algorithm=algorithm)
    out = tmp_path / "pretrained"
    path = export.export_weights(str(tmp_path / "run"), str(out))
    assert path.endswith("ckpt-4000") and checkpointing.latest_checkpoint(str(out)) == path
    description = checkpointing.read_run_config(str(out))
    assert description["exported_from"] == dict(checkpoint="ckpt-4000", step=4000,
                                                emulator_frames=4000)
    model = agents.get(algorithm).build_eval_model(3, (84, 84, 4))
    tf.train.Checkpoint(online=model).restore(path).assert_existing_objects_matched()
    for a, b in zip(learner.online.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # No target network or optimizer slots: a few hundred KB per 100k weights, not 3x that.
    size = sum(os.path.getsize(out / "checkpoints" / f) for f in os.listdir(out / "checkpoints"))
    params = sum(int(np.prod(w.shape)) for w in model.weights)
    assert 4 * params < size < 4 * params * 1.1
    summary = evaluation.evaluate_logdir(str(out), str(tmp_path / "eval"), 1, 0.0, 50,
                                         seed=0, video=False)
    assert summary["checkpoint"] == path and summary["algorithm"] == (algorithm or "one_step_q")
    assert json.load(open(tmp_path / "eval" / "eval.json"))["games"] == 1


def test_export_never_overwrites(tmp_path):
    _training_logdir(tmp_path / "run")
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(export.ExportError, match="is not empty"):
        export.export_weights(str(tmp_path / "run"), str(out))
    assert os.listdir(out) == ["notes.txt"]
    assert export.main([str(tmp_path / "run"), str(out)]) == 1


def test_eval_refuses_a_checkpoint_without_online_weights(tmp_path):
    _training_logdir(tmp_path / "run")
    ckpt_dir = tmp_path / "run" / "checkpoints"
    for f in os.listdir(ckpt_dir):
        os.remove(ckpt_dir / f)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(step=tf.Variable(7, dtype=tf.int64)),
                                         str(ckpt_dir), max_to_keep=1)
    manager.save(checkpoint_number=7)
    with pytest.raises(evaluation.EvalError, match="does not fit a 3-action network"):
        evaluation.evaluate_logdir(str(tmp_path / "run"), str(tmp_path / "eval"), 1, 0.0, 50)
