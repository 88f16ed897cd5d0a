"""run_dqn.main() in-process on real SpaceInvaders-v0: train, resume, evaluate."""

import csv
import glob
import json
import os

import pytest
from absl import flags
from absl.testing import flagsaver

import run_dqn

pytestmark = pytest.mark.slow  # a real train, resume and eval from the command line

FLAGS = flags.FLAGS
TINY = dict(game="SpaceInvaders-v0", threads=2, total_frames=1500, log_interval=500,
            test_interval=750, test_games=1, test_max_steps=200, update_interval=500,
            eps_steps=1000, seed=0)


@pytest.fixture(autouse=True)
def parsed_flags():
    if not FLAGS.is_parsed():
        FLAGS(["run_dqn"])


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_train_resume_and_eval(tmp_path, capsys):
    logdir = str(tmp_path / "si")
    with flagsaver.flagsaver(logdir=logdir, **TINY):
        assert run_dqn.main(["run_dqn"]) == 0
    out = capsys.readouterr().out
    assert "thread 0: eps_min" in out and "thread 1: eps_min" in out
    assert os.path.exists(os.path.join(logdir, "checkpoints", "ckpt-1500.index"))
    assert glob.glob(os.path.join(logdir, "tb", "events.out.tfevents.*"))
    train_rows = _rows(os.path.join(logdir, "train.csv"))
    assert [int(r["agent_steps"]) for r in train_rows][-1] == 1500
    assert len(train_rows) >= 3
    assert all(int(r["emulator_frames"]) >= 4 * int(r["agent_steps"]) for r in train_rows)
    assert float(train_rows[-1]["agent_steps_per_s"]) > 0
    assert len(_rows(os.path.join(logdir, "test.csv"))) >= 1
    config = json.load(open(os.path.join(logdir, "run_config.json")))
    assert config["game"] == "SpaceInvaders-v0" and config["num_actions"] == 3

    # Same logdir, larger budget: resumes at T=1500 and logs each step once.
    with flagsaver.flagsaver(logdir=logdir, **dict(TINY, total_frames=2000)):
        assert run_dqn.main(["run_dqn"]) == 0
    assert "resuming from" in capsys.readouterr().out
    steps = [int(r["agent_steps"]) for r in _rows(os.path.join(logdir, "train.csv"))]
    assert steps == sorted(set(steps)) and steps[-1] == 2000
    assert os.path.exists(os.path.join(logdir, "checkpoints", "ckpt-2000.index"))

    evaldir = str(tmp_path / "eval")
    with flagsaver.flagsaver(logdir=logdir, eval=True, eval_iter=2, test_max_steps=300,
                             evaldir=evaldir, seed=0):
        assert run_dqn.main(["run_dqn"]) == 0
    out = capsys.readouterr().out
    assert "game 0: score" in out and "game 1: score" in out and "mean score" in out
    summary = json.load(open(os.path.join(evaldir, "eval.json")))
    assert summary["games"] == 2 and summary["checkpoint"].endswith("ckpt-2000")
    assert os.path.getsize(os.path.join(evaldir, "game0.gif")) > 10_000


@pytest.mark.parametrize("overrides, message", [
    (dict(eval=True, logdir="/nonexistent/run"), "does not exist"),
    (dict(game="NoSuchGame-v0"), "not a registered gymnasium id"),
    (dict(game="CartPole-v1"), "RGB pixel space"),
])
def test_bad_input_is_one_line_and_nonzero(tmp_path, capsys, overrides, message):
    overrides.setdefault("logdir", str(tmp_path / "run"))
    with flagsaver.flagsaver(**overrides):
        assert run_dqn.main(["run_dqn"]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_logdir_of_another_game_is_refused(tmp_path, capsys):
    logdir = str(tmp_path / "run")
    with flagsaver.flagsaver(logdir=logdir, **dict(TINY, total_frames=200, test_interval=0)):
        assert run_dqn.main(["run_dqn"]) == 0
    before = sorted(os.listdir(logdir))
    with flagsaver.flagsaver(logdir=logdir, **dict(TINY, game="Pong-v0", action_set="minimal")):
        assert run_dqn.main(["run_dqn"]) == 1
    assert "holds a run of 'SpaceInvaders-v0'" in capsys.readouterr().err
    assert sorted(os.listdir(logdir)) == before
