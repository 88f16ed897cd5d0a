"""The Python API (`async_deeprl.train`, `async_deeprl.load`): the same run, errors and games as
the command line, and a gymnasium env with exactly the training preprocessing."""

import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import async_deeprl
from async_deeprl import environment
from async_deeprl.config import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH = "async_deeprl.games:Catch-v0"
# The smallest network (universe at 42x42 pixels), uncompiled (--noxla): these runs compare and
# resume logdirs.
SETTINGS = dict(game=CATCH, threads=1, action_repeat=1, log_interval=200, test_interval=300,
                test_games=2, seed=0, network="universe", obs_size=42, xla=False)


def _cli(*args):
    return subprocess.run([sys.executable, os.path.join(REPO, "run_dqn.py"), *args],
                          capture_output=True, text=True, timeout=300)


def _flags(settings):
    return [f"--{k}={v}" for k, v in settings.items()]


def test_importing_the_package_and_its_settings_does_not_import_tensorflow():
    code = ("import sys, async_deeprl; async_deeprl.TrainConfig.help('lr'); "
            "print('tensorflow' in sys.modules, callable(async_deeprl.train))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_settings_help_texts_come_from_the_config():
    assert async_deeprl.TrainConfig.help("gamma") == "Discount factor per agent step, in [0, 1]."
    assert set(async_deeprl.TrainConfig.help()) >= {"lr", "threads", "game", "total_frames"}
    with pytest.raises(ConfigError, match="^unknown setting 'gama'; the settings are "):
        async_deeprl.TrainConfig.help("gama")


@pytest.mark.slow
def test_train_and_the_command_line_write_the_same_run_and_resume_each_other(tmp_path):
    by_cli, by_api = str(tmp_path / "cli"), str(tmp_path / "api")
    done = _cli(*_flags(SETTINGS), "--total_frames=600", f"--logdir={by_cli}")
    assert done.returncode == 0, done.stderr
    summary = async_deeprl.train(total_frames=600, logdir=by_api, **SETTINGS)
    assert summary["step"] == 600 and summary["logdir"] == by_api
    assert summary["emulator_frames"] >= 600 and summary["checkpoint"].endswith("ckpt-600")
    assert 300 <= summary["last_test"]["agent_steps"] <= 600
    assert len(summary["last_test"]["scores"]) == 2
    configs = []
    for logdir in (by_cli, by_api):
        with open(os.path.join(logdir, "run_config.json")) as f:
            config = json.load(f)
        assert config["config"].pop("logdir") == logdir
        configs.append(config)
    assert configs[0] == configs[1]
    # Each resumes the other's logdir.
    assert async_deeprl.train(total_frames=900, logdir=by_cli, **SETTINGS)["step"] == 900
    done = _cli(*_flags(SETTINGS), "--total_frames=900", f"--logdir={by_api}")
    assert done.returncode == 0 and "resuming from" in done.stdout, done.stderr


def test_bad_arguments_raise_the_command_lines_one_line_errors(tmp_path):
    cases = [dict(game="NoSuchGame-v0"), dict(algorithm="dqn", replay_capacity=5000),
             dict(game=CATCH, workers=0, ray_address="auto")]
    for case in cases:
        cli = _cli(*_flags(case), f"--logdir={tmp_path / 'cli'}")
        assert cli.returncode == 1
        with pytest.raises(Exception) as raised:
            async_deeprl.train(logdir=str(tmp_path / "api"), **case)
        assert cli.stderr.splitlines() == [f"error: {raised.value}"]
    with pytest.raises(ConfigError, match=r"^--threads 0: must be in \[1, 64\]$"):
        async_deeprl.train(game=CATCH, threads=0, logdir=str(tmp_path / "api"))
    assert "--threads must be in [1, 64]" in _cli("--threads=0").stderr
    with pytest.raises(ConfigError, match="^unknown setting 'thread'; the settings are"):
        async_deeprl.train(game=CATCH, thread=2)
    assert not os.path.exists(tmp_path / "api") and not os.path.exists(tmp_path / "cli")


def test_a_sigint_stops_train_cleanly_with_a_checkpoint(tmp_path):
    """Ctrl-C in a notebook is a SIGINT to the kernel's main thread, where train runs."""
    timer = threading.Timer(8.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        summary = async_deeprl.train(total_frames=10_000_000, logdir=str(tmp_path / "run"),
                                     **SETTINGS)
    finally:
        timer.cancel()
    assert 0 < summary["step"] < 10_000_000
    assert summary["checkpoint"].endswith(f"ckpt-{summary['step']}")


@pytest.mark.slow
@pytest.mark.parametrize("name,deterministic", [("PongNoFrameskip-v4-n-step-q", True),
                                                ("PongNoFrameskip-v4-a3c", False)])
def test_act_in_a_gymnasium_loop_plays_the_games_eval_plays(name, deterministic, monkeypatch):
    """A plain gymnasium loop with `act` plays the same game as --eval with the same seed
    (same agent steps and score); a3c samples its actions with the agent's seeded draws."""
    monkeypatch.chdir(REPO)  # a relative path, as a user in the repository types it
    agent = async_deeprl.load(os.path.join("pretrained", name), seed=0)
    env = agent.make_env()
    observation, _ = env.reset(seed=0)
    score, steps, done = 0.0, 0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(
            agent.act(observation, deterministic=deterministic))
        score, steps, done = score + reward, steps + 1, terminated or truncated
    env.close()
    played = async_deeprl.load(os.path.join("pretrained", name)).evaluate(games=1, seed=0)
    assert played["results"] == [dict(score=score, steps=steps, truncated=False)]
    assert score >= 15  # the shipped agents win Pong


def test_make_env_gives_the_training_envs_observations_step_by_step():
    agent = async_deeprl.load(os.path.join(REPO, "pretrained", "PongNoFrameskip-v4-n-step-q"))
    env = agent.make_env(seed=5)
    trained = environment.make_env(agent.game, seed=5, **agent.env_settings)  # as the trainer
    assert env.observation_space.shape == agent.observation_shape == (84, 84, 4)
    assert env.action_space.n == trained.num_actions == 3
    observation, _ = env.reset()
    np.testing.assert_array_equal(observation, trained.reset())
    rng = np.random.default_rng(0)
    for _ in range(300):
        action = int(rng.integers(3))
        observation, reward, terminated, truncated, info = env.step(action)
        result = trained.step(action)
        np.testing.assert_array_equal(observation, result.observation)
        assert (reward, terminated or truncated, info["life_lost"]) == (
            result.reward, result.game_over, result.life_lost)


def test_a3c_probabilities_and_q_values_for_one_frame():
    a3c = async_deeprl.load(os.path.join(REPO, "pretrained", "PongNoFrameskip-v4-a3c"))
    observation, _ = a3c.make_env().reset(seed=0)
    probs, value = a3c.probabilities(observation)
    assert probs.shape == (3,) and abs(probs.sum() - 1) < 1e-5 and np.isfinite(value)
    assert a3c.act(observation) == int(np.argmax(probs))
    with pytest.raises(ValueError, match="has a policy, not Q-values"):
        a3c.q_values(observation)
    q = async_deeprl.load(os.path.join(REPO, "pretrained", "PongNoFrameskip-v4-n-step-q"))
    values = q.q_values(observation)
    assert values.shape == (3,) and q.act(observation) == int(np.argmax(values))
    with pytest.raises(ValueError, match=r"this agent takes \(84, 84, 4\) uint8"):
        q.act(observation[..., :2])
