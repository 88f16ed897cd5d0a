"""The trainer on the shipped Catch game: numerics guard, stop signal, reproducibility."""

import threading

import gymnasium as gym
import numpy as np
import pytest

from async_deeprl import backend, checkpointing, runner
from async_deeprl.config import TrainConfig
from async_deeprl.games.catch import CatchEnv

CATCH = "async_deeprl.games:Catch-v0"


class NanRewardCatch(CatchEnv):
    """Test double: Catch whose every reward is NaN, standing for a broken reward signal."""

    def step(self, action):
        frame, _, terminated, truncated, info = super().step(action)
        return frame, float("nan"), terminated, truncated, info


if "NanRewardCatch-v0" not in gym.registry:
    gym.register(id="NanRewardCatch-v0", entry_point=NanRewardCatch)


def _tiny(tmp_path, **overrides):
    """A short Catch run; uncompiled (--noxla) unless the test is about the compiled calls."""
    settings = dict(game=CATCH, logdir=str(tmp_path / "run"), threads=2, total_frames=600,
                    action_repeat=1, log_interval=200, test_interval=0, update_interval=100,
                    eps_steps=300, seed=0, xla=False)
    settings.update(overrides)
    return TrainConfig(**settings)


def test_persistent_non_finite_updates_stop_the_run_and_leave_weights_finite(tmp_path):
    config = _tiny(tmp_path, game="NanRewardCatch-v0", max_nonfinite_updates=20)
    trainer = runner.Trainer(config)
    initial = [w.numpy() for w in trainer.agent.online.weights]
    with pytest.raises(backend.NumericsError, match="20 updates in a row had a non-finite loss"):
        trainer.run()
    for before, after in zip(initial, trainer.agent.online.weights):
        np.testing.assert_array_equal(before, after.numpy())  # nothing was applied
    assert checkpointing.latest_checkpoint(config.logdir) is not None


def test_stop_event_ends_every_thread_and_saves(tmp_path):
    stop = threading.Event()
    config = _tiny(tmp_path, total_frames=10**9)
    trainer = runner.Trainer(config, stop)
    timer = threading.Timer(3.0, stop.set)
    timer.start()
    summary = trainer.run()
    assert 0 < summary["step"] < 10**9
    assert checkpointing.latest_checkpoint(config.logdir).endswith(f"ckpt-{summary['step']}")
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("learner-"))


def test_one_thread_with_a_seed_is_reproducible(tmp_path):
    weights = []
    for run in range(2):
        config = _tiny(tmp_path / str(run), threads=1, total_frames=400, log_interval=100,
                       xla=True)  # a run as shipped
        trainer = runner.Trainer(config)
        trainer.run()
        weights.append([w.numpy() for w in trainer.agent.online.weights])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_eps_min_draws_are_reproducible_with_many_threads(tmp_path):
    a = runner.Trainer(_tiny(tmp_path / "a", threads=8)).agent.thread_eps_mins
    b = runner.Trainer(_tiny(tmp_path / "b", threads=8)).agent.thread_eps_mins
    assert a == b and len(a) == 8


@pytest.mark.parametrize("tf_servers", [0, 2])
def test_stress_sixteen_threads_of_tiny_updates(tmp_path, tf_servers):
    """16 learner threads updating after every step: T ends exact, weights stay finite."""
    config = _tiny(tmp_path, threads=16, tmax=1, total_frames=800, update_interval=50,
                   tf_servers=tf_servers, xla=True)  # concurrent calls of the shipped, compiled kind
    trainer = runner.Trainer(config)
    summary = trainer.run()
    assert summary["step"] == 800 and trainer.counter.value == 800
    assert summary["target_syncs"] == 16
    assert all(np.isfinite(w.numpy()).all() for w in trainer.agent.online.weights)
    assert all(np.isfinite(v.numpy()).all() for v in trainer.agent.optimizer.variables)
