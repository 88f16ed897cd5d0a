"""--obs_size: the side of the frames the network sees, through the environment, the agents,
the run's record and a resume of a run written before the setting existed."""

import json
import os
import shutil

import numpy as np
import pytest

from agent_utils import make_agent, random_segment
from async_deeprl import preprocessing, training
from async_deeprl.config import ConfigError, TrainConfig
from async_deeprl.environment import make_env

CATCH = "async_deeprl.games:Catch-v0"


def test_obs_size_gives_square_frames_of_that_side_resized_from_the_screen():
    env = make_env("SpaceInvaders-v0", noop_max=0, seed=1, record_rgb=True, obs_size=42)
    assert env.reset().shape == (42, 42, 4)
    for _ in range(20):
        result = env.step(0)
    expected = preprocessing.crop_and_resize(preprocessing.to_gray(env.rgb_frame()),
                                             (None, -15), 42)
    assert expected.shape == (42, 42)
    np.testing.assert_array_equal(result.observation[..., -1], expected)
    env.close()


@pytest.mark.parametrize("algorithm", ["a3c_lstm", "a3c", "dqn"])
def test_agents_act_and_update_on_42_pixel_frames(algorithm):
    agent = make_agent(algorithm, obs_size=42, tmax=5, replay_capacity=64)
    assert agent.input_shape == (42, 42, 4)
    rng = np.random.default_rng(0)
    states = rng.integers(0, 256, (2, 42, 42, 4), dtype=np.uint8)
    if algorithm == "a3c_lstm":
        h = np.zeros((2, agent.cells), np.float32)
        probs = agent.act(states, h, h)[0]
    else:
        probs = agent.act(states)[0]  # a3c's policy, dqn's Q-values
    assert np.asarray(probs).shape == (2, 3)
    if algorithm != "dqn":
        seg = random_segment(rng, 5, with_next=False, shape=(42, 42, 4))
        stats = agent.update(*agent.update_args(seg, states[0]), np.float32(1e-3))
        assert np.isfinite(np.asarray(stats)).all()
    else:
        agent.prepare_threads(1, rng, restored=False)
        assert agent.replay.frames.shape[-2:] == (42, 42)


def test_config_input_shape_and_the_smallest_side():
    assert TrainConfig(obs_size=42, memory_len=1).input_shape() == (42, 42, 1)
    assert TrainConfig().input_shape() == (84, 84, 4)
    with pytest.raises(ConfigError, match="--obs_size 20: must be in"):
        TrainConfig(obs_size=20).validate()


def _config(logdir, **settings):
    return TrainConfig(game=CATCH, logdir=logdir, threads=1, action_repeat=1, log_interval=100,
                       test_interval=0, seed=0, xla=False, **settings)


def test_a_run_records_its_obs_size_and_a_run_written_before_the_setting_resumes(tmp_path):
    logdir = str(tmp_path / "run")
    training.train(_config(logdir, total_frames=200, obs_size=42))
    recorded = json.load(open(os.path.join(logdir, "run_config.json")))
    assert recorded["input_shape"] == [42, 42, 4] and recorded["env"]["obs_size"] == 42
    with pytest.raises(ConfigError, match="was trained with --obs_size=42"):
        training.train(_config(logdir, total_frames=300))
    # A run_config.json of a run from before --obs_size (84-pixel frames, no obs_size key).
    old = str(tmp_path / "old")
    training.train(_config(old, total_frames=200))
    path = os.path.join(old, "run_config.json")
    recorded = json.load(open(path))
    del recorded["env"]["obs_size"], recorded["config"]["obs_size"]
    json.dump(recorded, open(path, "w"))
    summary = training.train(_config(old, total_frames=300))
    assert summary["step"] >= 300
    shutil.rmtree(old)
