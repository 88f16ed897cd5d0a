"""The shipped pretrained SpaceInvaders agent plays from a fresh clone through run_dqn --eval."""

import json
import os

import pytest
from absl import flags
from absl.testing import flagsaver

import run_dqn

FLAGS = flags.FLAGS
PRETRAINED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "pretrained", "SpaceInvaders-v0")
# Measured with the same eval code (assets/spaceinvaders/eval_*_30.json): a random
# policy over the same 3 actions (`--eval_epsilon 1.0 --eval_iter 30 --seed 0`) mean
# 135.0, std 66.7; this agent greedy over 30 games mean 236.8, std 37.5, min 180.
RANDOM_MEAN = 135.0
TRAINED_MIN = 180.0


@pytest.fixture(autouse=True)
def parsed_flags():
    if not FLAGS.is_parsed():
        FLAGS(["run_dqn"])


def test_pretrained_agent_plays_two_full_games(tmp_path, capsys):
    evaldir = str(tmp_path / "eval")
    with flagsaver.flagsaver(logdir=PRETRAINED, eval=True, eval_iter=2, eval_epsilon=0.0,
                             evaldir=evaldir, video=True, seed=0):
        assert run_dqn.main(["run_dqn"]) == 0
    summary = json.load(open(os.path.join(evaldir, "eval.json")))
    assert summary["game"] == "SpaceInvaders-v0" and summary["games"] == 2
    assert os.path.dirname(summary["checkpoint"]) == os.path.join(PRETRAINED, "checkpoints")
    assert not any(r["truncated"] for r in summary["results"])  # Full games, not step-capped.
    assert os.path.getsize(os.path.join(evaldir, "game0.gif")) > 10_000
    assert summary["checkpoint"].endswith("ckpt-3049537")
    # Both games at least as good as the worst of the 30 measured, well above random play.
    assert min(r["score"] for r in summary["results"]) >= TRAINED_MIN > RANDOM_MEAN, summary
    assert "mean score" in capsys.readouterr().out
