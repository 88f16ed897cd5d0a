"""Every shipped flagfile parses into a valid training config (names, values and bounds)."""

import glob
import os

import pytest
from absl import flags
from absl.testing import flagsaver

import run_dqn
from async_deeprl import agents, settings
from async_deeprl.config import TrainConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGFILES = sorted(glob.glob(os.path.join(ROOT, "flags", "*.flags")))


def test_there_are_flagfiles_for_every_agent():
    trained = set()
    for path in FLAGFILES:
        lines = [line.strip() for line in open(path) if line.startswith("--algorithm=")]
        trained.add(lines[-1].split("=", 1)[1] if lines else agents.DEFAULT)
    assert trained == set(agents.NAMES), sorted(set(agents.NAMES) - trained)


@pytest.mark.parametrize("path", FLAGFILES, ids=os.path.basename)
def test_flagfile_parses_into_a_valid_config(path):
    with flagsaver.flagsaver():
        flags.FLAGS(["run_dqn", f"--flagfile={path}"])
        config = settings.from_flags(TrainConfig, run_dqn.TRAIN_FLAGS)
        config.validate()
        lines = [line.strip() for line in open(path) if line.startswith("--")]
        if any(line.startswith("--algorithm=") for line in lines):
            algorithm = next(line for line in lines if line.startswith("--algorithm="))
            assert config.algorithm == algorithm.split("=", 1)[1]


def test_from_flagfile_reads_a_flagfile_into_settings_without_the_global_flags(tmp_path):
    """The bench's --train_flagfile: the file's values, defaults elsewhere, overrides win."""
    config = settings.from_flagfile(TrainConfig, os.path.join(ROOT, "flags", "dqn_pong.flags"),
                                    threads=2)
    assert (config.algorithm, config.game, config.train_freq, config.lr) == (
        "dqn", "PongNoFrameskip-v4", 1, 1e-5)
    assert config.threads == 2 and config.tmax == TrainConfig().tmax
    bad = tmp_path / "bad.flags"
    bad.write_text("--algorithm=dqn\n--no_such_setting=3\n")
    with pytest.raises(flags.Error, match="no_such_setting"):
        settings.from_flagfile(TrainConfig, str(bad))
    bad.write_text("--train_freq=0\n")
    with pytest.raises(flags.Error, match="train_freq"):
        settings.from_flagfile(TrainConfig, str(bad))
