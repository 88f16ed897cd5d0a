"""Bad input: one line naming the problem and the fix, exit code 1, nothing written or lost."""

import json
import os
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from absl import flags
from absl.testing import flagsaver

import run_dqn
from async_deeprl import logdir as logdir_lib, ray_access
from async_deeprl.config import ConfigError, TrainConfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH = "async_deeprl.games:Catch-v0"


class BoxActionPixels(gym.Env):
    """Test double: RGB pixel observations with continuous actions, which the agent cannot use."""

    observation_space = gym.spaces.Box(0, 255, (84, 84, 3), np.uint8)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)


if "BoxActionPixels-v0" not in gym.registry:
    gym.register(id="BoxActionPixels-v0", entry_point=BoxActionPixels)


def _snapshot(path):
    """Every file under `path` with its size and modification time."""
    found = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            found[full] = (os.path.getsize(full), os.path.getmtime(full))
    return found


def _copy(catch_run, tmp_path, edit=None):
    logdir = str(tmp_path / "copy")
    shutil.copytree(catch_run, logdir)
    if edit:
        edit(logdir)
    return logdir


def _corrupt(logdir):
    data = [f for f in os.listdir(os.path.join(logdir, "checkpoints")) if ".data-" in f]
    for name in data:
        with open(os.path.join(logdir, "checkpoints", name), "r+b") as f:
            f.truncate(100)


def _other_game(logdir):
    path = os.path.join(logdir, "run_config.json")
    config = json.load(open(path))
    config["game"] = "SpaceInvaders-v0"
    config["env"]["action_set"] = "minimal"  # 6 actions; the checkpoint has 3
    json.dump(config, open(path, "w"))


def _unknown_network(logdir):
    path = os.path.join(logdir, "run_config.json")
    config = json.load(open(path))
    config["network"] = "resnet"  # e.g. written by a newer async_deeprl
    json.dump(config, open(path, "w"))


def _damage_run_config(logdir):
    with open(os.path.join(logdir, "run_config.json"), "w") as f:
        f.write('{"game": "async_deeprl.games:Catch-v0", ')  # Cut short mid-write.


def _used_evaldir(logdir):
    os.makedirs(os.path.join(logdir, "old_eval"))
    json.dump({"mean": 1.0}, open(os.path.join(logdir, "old_eval", "eval.json"), "w"))


def _damage_test_csv(logdir):
    with open(os.path.join(logdir, "test.csv"), "a") as f:
        f.write("12x,garbage\n")


CASES = {
    "unknown game": (dict(game="NoSuchGame-v0"), None, "not a registered gymnasium id"),
    "non-pixel env": (dict(game="CartPole-v1"), None, "RGB pixel space"),
    "non-discrete env": (dict(game="BoxActionPixels-v0"), None, "a Discrete action space is needed"),
    "eval missing dir": (dict(eval=True), "missing", "does not exist"),
    "eval logdir is a file": (dict(eval=True), "a-file", "is a file, not a directory"),
    "another algorithm's logdir": (dict(game=CATCH, action_repeat=1, total_frames=900,
                                        algorithm="n_step_q"), "copy",
                                   "holds a one_step_q run; resume it with --algorithm one_step_q"),
    "another network's logdir": (dict(game=CATCH, action_repeat=1, total_frames=900,
                                      network="nature"), "copy",
                                 "holds a run of the 'small' network; resume it with --network "
                                 "small"),
    "eval unknown network": (dict(eval=True), _unknown_network,
                             "network 'resnet' is not one of small, nature, universe; update async_deeprl"),
    "eval empty dir": (dict(eval=True), "empty", "holds no training run"),
    "eval corrupt checkpoint": (dict(eval=True), _corrupt, "no intact checkpoint in"),
    "eval other action count": (dict(eval=True), _other_game, "does not fit a 6-action network"),
    "total_frames not above T": (dict(game=CATCH, action_repeat=1, total_frames=300, test_interval=0),
                                 "copy", "is not above the step 300"),
    "unwritable logdir": (dict(game=CATCH), "under-a-file", "is not writable"),
    "another game's logdir": (dict(game="SpaceInvaders-v0"), "copy", "holds a run of"),
    "damaged run_config on resume": (dict(game=CATCH, action_repeat=1, total_frames=900),
                                     _damage_run_config, "run_config.json cannot be read"),
    "damaged run_config on eval": (dict(eval=True), _damage_run_config,
                                   "run_config.json cannot be read"),
    "other preprocessing on resume": (dict(game=CATCH, action_repeat=2, total_frames=900), "copy",
                                      "was trained with --action_repeat=1"),
    "evaldir with results": (dict(eval=True, evaldir="<logdir>/old_eval"), _used_evaldir,
                             "already holds eval.json"),
    "damaged test.csv on resume": (dict(game=CATCH, action_repeat=1, total_frames=900),
                                   _damage_test_csv, "test.csv line 2 is damaged"),
    "corrupt checkpoint on resume": (dict(game=CATCH, action_repeat=1, total_frames=900), _corrupt,
                                     "no intact checkpoint in"),
    "ray address with no cluster": (dict(game=CATCH, workers=1, ray_address="127.0.0.1:1"), None,
                                    "--ray_address 127.0.0.1:1: no Ray cluster answered within"),
}


@pytest.fixture(autouse=True)
def parsed_flags(monkeypatch):
    if not flags.FLAGS.is_parsed():
        flags.FLAGS(["run_dqn"])
    monkeypatch.setattr(ray_access, "CONNECT_TIMEOUT_S", 2.0)  # the run's own wait is 30 s


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case, catch_run, tmp_path, capsys):
    overrides, logdir_kind, message = CASES[case]
    if logdir_kind is None:
        logdir = str(tmp_path / "new")
    elif logdir_kind == "missing":
        logdir = str(tmp_path / "missing")
    elif logdir_kind == "empty":
        logdir = str(tmp_path / "empty")
        os.makedirs(logdir)
    elif logdir_kind == "a-file":
        logdir = str(tmp_path / "a_file")
        open(logdir, "w").close()
    elif logdir_kind == "under-a-file":
        open(tmp_path / "a_file", "w").close()
        logdir = str(tmp_path / "a_file" / "run")
    elif logdir_kind == "copy":
        logdir = _copy(catch_run, tmp_path)
    else:
        logdir = _copy(catch_run, tmp_path, logdir_kind)
    if overrides.get("evaldir"):
        overrides = dict(overrides, evaldir=overrides["evaldir"].replace("<logdir>", logdir))
    before = _snapshot(logdir) if os.path.isdir(logdir) else None
    with flagsaver.flagsaver(logdir=logdir, **overrides):
        assert run_dqn.main(["run_dqn"]) == 1
    err = capsys.readouterr().err.strip()
    print(f"{case}: {err}")
    assert err.startswith("error: ") and message in err, err
    assert len(err.splitlines()) == 1
    if before is not None:
        assert _snapshot(logdir) == before


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "--threads must be in [1, 64]"),
    (["--threads", "100000"], "--threads must be in [1, 64]"),
    (["--tmax", "0"], "--tmax must be >= 1"),
    (["--gamma", "1.5"], "--gamma must be in [0, 1]"),
    (["--lr", "-0.1"], "--lr must be > 0"),
    (["--optimizer", "sgd"], "value should be one of <rmsprop|adam>"),
    (["--algorithm", "a4c"], "value should be one of <one_step_q|one_step_sarsa|n_step_q|a3c|a3c_lstm|dqn>"),
    (["--entropy_beta", "-0.01"], "--entropy_beta must be >= 0"),
    (["--value_loss_coef", "0"], "--value_loss_coef must be > 0"),
    (["--eval_policy", "argmax"], "value should be one of <sample|greedy>"),
    (["--batch_size", "0"], "--batch_size must be >= 1"),
    (["--td_loss", "l1"], "value should be one of <huber|squared>"),
    (["--eps_schedule", "cosine"], "value should be one of <linear|exponential>"),
    (["--replay_capacity", "8"], "--replay_capacity must be >= 16"),
    (["--algorithm", "dqn", "--replay_capacity", "5000"],
     "--replay_initial 10000 is more than the 4996 transitions --replay_capacity 5000 can offer"),
    (["--algorithm", "dqn", "--replay_capacity", "16", "--threads", "8"],
     "--replay_capacity 16 gives each of --threads 8 2 slots, fewer than 6"),
    (["--test_games", "0"], "--test_games must be >= 1"),
    (["--test_max_steps", "0"], "--test_max_steps must be >= 1"),
    (["--lr", "nan"], "--lr must be a finite number"),
    (["--gamma", "inf"], "--gamma must be a finite number"),
    (["--entropy_beta", "-inf"], "--entropy_beta must be a finite number"),
    (["--algorithm", "dqn", "--replay_capacity", "100000000"],
     "--replay_capacity 100,000,000 needs 659.0 GiB, more than the"),
])
def test_out_of_range_flags_exit_non_zero_before_anything_runs(args, message, tmp_path):
    result = subprocess.run([sys.executable, os.path.join(REPO, "run_dqn.py"), *args,
                             "--logdir", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert message in result.stderr.splitlines()[0]
    assert not os.path.exists(tmp_path / "run")


def test_overwrite_whose_move_fails_keeps_the_old_run(catch_run, tmp_path, capsys, monkeypatch):
    logdir = _copy(catch_run, tmp_path)
    before = _snapshot(logdir)

    def refuse_move(src, dst):
        # Test double for a move the OS refuses (read-only parent, busy mount): as root the
        # test cannot make a real directory unmovable.
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(logdir_lib.shutil, "move", refuse_move)
    with flagsaver.flagsaver(logdir=logdir, game="SpaceInvaders-v0", overwrite=True):
        assert run_dqn.main(["run_dqn"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --logdir {logdir!r} could not be moved to "), err
    assert err.endswith("(Permission denied); move it yourself or choose another --logdir"), err
    assert len(err.splitlines()) == 1
    assert _snapshot(logdir) == before
    assert os.listdir(tmp_path) == ["copy"]  # No half-made ".replaced-" folder beside it.


def test_eval_refuses_a_flag_that_conflicts_with_the_run(tmp_path):
    """--eval plays a run with the settings it was trained with: --game (or its alias --env)
    naming another game is refused, not ignored; the same game is accepted."""
    logdir = os.path.join(REPO, "pretrained", "PongNoFrameskip-v4-a3c")
    for flag in ("--game", "--env"):
        result = subprocess.run([sys.executable, os.path.join(REPO, "run_dqn.py"), "--eval",
                                 "--logdir", logdir, flag, "SpaceInvaders-v0",
                                 "--evaldir", str(tmp_path / "eval")],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [
            f"error: --game SpaceInvaders-v0 conflicts with the run in {logdir!r}, trained with "
            "--game PongNoFrameskip-v4; --eval plays a run with the settings it was trained "
            "with: drop --game"]
        assert not os.path.exists(tmp_path / "eval")


def test_a_non_finite_float_setting_is_refused_outside_flags_too():
    for name in ("lr", "gamma", "sticky_prob"):
        with pytest.raises(ConfigError, match=f"^--{name} nan: must be a finite number$"):
            TrainConfig(**{name: float("nan")}).validate()
