"""README's flag table is the settings' own text, and --helpfull lists exactly those flags."""

import os
import re
import subprocess
import sys

from async_deeprl import settings
from async_deeprl.config import EvalConfig, TrainConfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme_table():
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    found = re.search(r"<!-- flags:[^\n]*-->\n(.*?)\n<!-- /flags -->", text, re.S)
    assert found, "README.md has no generated flag table"
    return found.group(1)


def test_readme_flag_table_is_generated_from_the_settings():
    assert _readme_table() == settings.markdown_table(TrainConfig, EvalConfig), (
        "README's flag table drifted; paste `python -m async_deeprl.settings` over it")


def test_helpfull_lists_exactly_the_readme_flags():
    out = subprocess.run([sys.executable, "run_dqn.py", "--helpfull"],
                         capture_output=True, text=True, timeout=60, cwd=REPO).stdout
    section = out.split("\nrun_dqn.py:\n", 1)[1].split("\n\n", 1)[0]
    in_help = set(re.findall(r"^  --(?:\[no\])?(\w+)", section, re.M))
    in_readme = set(re.findall(r"^\| `--(\w+)`", _readme_table(), re.M))
    in_readme |= set(re.findall(r"^\| `--\w+` \(`--(\w+)`\)", _readme_table(), re.M))
    assert in_help == in_readme
    assert {"algorithm", "tmax", "eval", "env"} <= in_help


def test_every_setting_has_a_sentence_of_help():
    for cls in (TrainConfig, EvalConfig):
        for field in cls.__dataclass_fields__.values():
            assert field.metadata["help"].endswith("."), field.name
