"""A checkpoint restores T, frames and all its agent holds: networks, optimizer slots, eps_mins."""

import numpy as np

import pytest

from agent_utils import make_agent, train_a_little as _train_a_little
from async_deeprl import agents, checkpointing


def _variables(agent):
    """Every variable a checkpoint of `agent` holds, in a fixed order."""
    out = []
    for name, item in sorted(agent.checkpoint_items().items()):
        out += list(item.variables) if hasattr(item, "variables") else [item]
    # Keras's LSTM cell keeps a random-seed state for dropout, which a3c_lstm does not use and
    # TensorFlow checkpoints do not hold.
    return [v for v in out if "seed_generator" not in getattr(v, "path", "")]


@pytest.mark.parametrize("algorithm", agents.NAMES)
def test_checkpoint_round_trip(tmp_path, algorithm):
    source = make_agent(algorithm)
    _train_a_little(source, 0)
    value_based = "eps_mins" in source.checkpoint_items()
    if value_based:
        source.eps_mins.assign([0.1, 0.5, 0.01])
    saver = checkpointing.Checkpointer(str(tmp_path), source.checkpoint_items())
    path = saver.save(step=12345, frames=49380)
    assert path.endswith("ckpt-12345")
    assert checkpointing.latest_checkpoint(str(tmp_path)) == path

    restored = make_agent(algorithm)
    loader = checkpointing.Checkpointer(str(tmp_path), restored.checkpoint_items())
    assert loader.restore_latest()
    assert int(loader.step.numpy()) == 12345 and int(loader.frames.numpy()) == 49380
    # Weights (online and, where there is one, target), optimizer slots and step count.
    saved, loaded = _variables(source), _variables(restored)
    assert len(saved) == len(loaded) > 8
    for a, b in zip(saved, loaded):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert sum(v.numpy().size for v in saved) > 2 * source.online.count_params()
    if value_based:
        np.testing.assert_allclose(restored.eps_mins.numpy(), [0.1, 0.5, 0.01])
        restored.prepare_threads(4, np.random.default_rng(0), restored=True)
        assert restored.thread_eps_mins[:3] == [0.1, 0.5, 0.01]  # a fourth thread draws its own
    # Both continue identically from the restored state.
    _train_a_little(source, 1)
    _train_a_little(restored, 1)
    for a, b in zip(source.online.weights, restored.online.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_empty_logdir_has_no_checkpoint(tmp_path):
    saver = checkpointing.Checkpointer(str(tmp_path), make_agent(num_actions=2).checkpoint_items())
    assert not saver.restore_latest()
    assert checkpointing.latest_checkpoint(str(tmp_path)) is None


def test_run_config_round_trip(tmp_path):
    assert checkpointing.read_run_config(str(tmp_path)) is None
    checkpointing.write_run_config(str(tmp_path), {"game": "Pong-v0", "num_actions": 3})
    assert checkpointing.read_run_config(str(tmp_path)) == {"game": "Pong-v0", "num_actions": 3}


@pytest.mark.slow
def test_a_run_written_before_the_current_layout_resumes(tmp_path):
    """The one-step Q Pong run's checkpoint of 2026-12-05 (ckpt-1509617, kept in its committed
    logdir beside the newer ones) and its run_config.json, both written before --obs_size, the
    backends and the agent interface existed, resume with their own settings for 100 steps."""
    import json
    import os
    import shutil

    from async_deeprl import training
    from async_deeprl.config import TrainConfig

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = os.path.join(root, "assets", "pong_one_step_q")
    logdir = str(tmp_path / "run")
    os.makedirs(os.path.join(logdir, "checkpoints"))
    shutil.copy(os.path.join(source, "run_config.json"), logdir)
    step = 1_509_617
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(os.path.join(source, "checkpoints", f"ckpt-{step}{suffix}"),
                    os.path.join(logdir, "checkpoints"))
    with open(os.path.join(logdir, "checkpoints", "checkpoint"), "w") as f:
        f.write(f'model_checkpoint_path: "ckpt-{step}"\n')
    recorded = json.load(open(os.path.join(logdir, "run_config.json")))
    assert "obs_size" not in recorded["env"]
    settings = dict(recorded["config"], logdir=logdir, total_frames=step + 100,
                    log_interval=50, test_interval=0, xla=False)
    summary = training.train(TrainConfig(**settings))
    assert summary["step"] == step + 100
