"""The shipped pretrained agents (three SpaceInvaders, three Pong) each play a full game from a
fresh clone through run_dqn --eval.

Each agent's expectations come from its committed 30-game evaluation (same eval code,
`--eval_iter 30 --seed 0`, the agent's own policy and with `--eval_epsilon 1.0`), the numbers
docs/results.md quotes: the test fails if the shipped weights and those numbers drift apart.
"""

import json
import os

import imageio.v2 as imageio
import pytest
from absl import flags
from absl.testing import flagsaver
from PIL import Image, ImageSequence

import run_dqn
from async_deeprl.evaluation import MAX_GIF_FRAMES

pytestmark = pytest.mark.slow  # full Pong games of the shipped agents

FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (folder under pretrained/, folder under assets/ holding eval_{pretrained,random}_30.json)
AGENTS = [("SpaceInvaders-v0", "spaceinvaders"),
          ("SpaceInvaders-v0-blog-code", "spaceinvaders_blog_code"),
          ("SpaceInvaders-v0-adam-repeat12", "spaceinvaders_adam_repeat12"),
          ("PongNoFrameskip-v4-a3c", "pong_a3c"),
          ("PongNoFrameskip-v4-n-step-q", "pong_n_step_q"),
          ("PongNoFrameskip-v4-fast", "pong_fast_seed1")]


@pytest.fixture(autouse=True)
def parsed_flags():
    if not FLAGS.is_parsed():
        FLAGS(["run_dqn"])


def _load(assets, name):
    with open(os.path.join(ROOT, "assets", assets, name)) as f:
        return json.load(f)


@pytest.mark.parametrize("folder,assets", AGENTS)
def test_pretrained_agent_plays_a_full_game(tmp_path, capsys, folder, assets):
    pretrained = os.path.join(ROOT, "pretrained", folder)
    measured = _load(assets, "eval_pretrained_30.json")
    random_policy = _load(assets, "eval_random_30.json")
    # The committed evals are of these weights and show a clear margin over random play.
    assert os.path.dirname(measured["checkpoint"]) == f"pretrained/{folder}/checkpoints"
    assert measured["games"] == random_policy["games"] == 30
    assert random_policy["epsilon"] == 1.0 and measured["epsilon"] == 0.0
    assert measured["min"] > random_policy["mean"]

    run_config = json.load(open(os.path.join(pretrained, "run_config.json")))
    assert measured["game"] == random_policy["game"] == run_config["game"]
    # The value-based agents' evals predate the policy field; they always act greedily.
    policy = measured.get("policy", "greedy")

    evaldir = str(tmp_path / "eval")
    with flagsaver.flagsaver(logdir=pretrained, eval=True, eval_iter=1, eval_epsilon=0.0,
                             evaldir=evaldir, video=True, seed=0, eval_policy=policy):
        assert run_dqn.main(["run_dqn"]) == 0
    summary = json.load(open(os.path.join(evaldir, "eval.json")))
    assert summary["game"] == run_config["game"] and summary["games"] == 1
    assert summary["algorithm"] == run_config.get("algorithm", "one_step_q")
    assert summary["policy"] == policy
    assert summary["checkpoint"] == os.path.join(pretrained, "checkpoints",
                                                 os.path.basename(measured["checkpoint"]))
    assert not summary["results"][0]["truncated"]  # A full game, not step-capped.
    gif = os.path.join(evaldir, "game0.gif")
    assert os.path.getsize(gif) > 10_000
    # Real-time speed: the GIF lasts as long as game 0's emulator frames at 60 per second
    # (--id_frameskip averages 3 frames per id step). The writer merges identical consecutive
    # frames, so the total is compared, within 5% (--id_frameskip: 12.3 frames per step, not 12).
    config = run_config["env"]
    frames_per_step = config["action_repeat"] * (3 if config.get("id_frameskip") else 1)
    gif_ms = sum(frame.info["duration"] for frame in ImageSequence.Iterator(Image.open(gif)))
    recorded = min(summary["results"][0]["steps"] + 1, MAX_GIF_FRAMES)  # Pong: cut at 5 min
    game_ms = recorded * 1000.0 * frames_per_step / 60
    assert abs(gif_ms / game_ms - 1) < 0.05, (gif_ms, game_ms)
    # At least as good as the worst of the 30 measured.
    assert summary["results"][0]["score"] >= measured["min"], summary
    assert "mean score" in capsys.readouterr().out


def test_eval_writes_an_mp4_at_real_time_speed(tmp_path):
    pretrained = os.path.join(ROOT, "pretrained", "SpaceInvaders-v0")
    evaldir = str(tmp_path / "eval")
    with flagsaver.flagsaver(logdir=pretrained, eval=True, eval_iter=1, eval_epsilon=0.0,
                             evaldir=evaldir, video=True, video_format="mp4", seed=0):
        assert run_dqn.main(["run_dqn"]) == 0
    summary = json.load(open(os.path.join(evaldir, "eval.json")))
    assert summary["video"] == os.path.join(evaldir, "game0.mp4")
    assert not os.path.exists(os.path.join(evaldir, "game0.gif"))
    reader = imageio.get_reader(summary["video"])
    meta = reader.get_meta_data()
    frames = sum(1 for _ in reader)
    reader.close()
    # One video frame per agent step, 210x160 RGB, at the emulator's real time: 60 / 4 = 15
    # frames per second (measured from the frame counter, so within 1%).
    assert meta["codec"] == "h264" and meta["size"] == (160, 210)
    assert abs(meta["fps"] / 15 - 1) < 0.01, meta
    assert frames == summary["results"][0]["steps"] + 1  # the first frame and one per step
