"""docs/flags.md's flag table is the settings' own text, --helpfull lists exactly those flags,
and every relative link and image in README.md and docs/ points at a file that exists."""

import glob
import os
import re
import subprocess
import sys

from async_deeprl import settings
from async_deeprl.config import EvalConfig, TrainConfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS_PAGE = os.path.join("docs", "flags.md")


def _flag_table():
    text = open(os.path.join(REPO, FLAGS_PAGE), encoding="utf-8").read()
    found = re.search(r"<!-- flags:[^\n]*-->\n(.*?)\n<!-- /flags -->", text, re.S)
    assert found, f"{FLAGS_PAGE} has no generated flag table"
    return found.group(1)


def test_flag_table_is_generated_from_the_settings():
    assert _flag_table() == settings.markdown_table(TrainConfig, EvalConfig), (
        f"the flag table in {FLAGS_PAGE} drifted; paste `python -m async_deeprl.config` "
        f"over the table in {FLAGS_PAGE}")


def test_helpfull_lists_exactly_the_flags_of_the_flag_table():
    out = subprocess.run([sys.executable, "run_dqn.py", "--helpfull"],
                         capture_output=True, text=True, timeout=60, cwd=REPO).stdout
    section = out.split("\nrun_dqn.py:\n", 1)[1].split("\n\n", 1)[0]
    in_help = set(re.findall(r"^  --(?:\[no\])?(\w+)", section, re.M))
    in_table = set(re.findall(r"^\| `--(\w+)`", _flag_table(), re.M))
    in_table |= set(re.findall(r"^\| `--\w+` \(`--(\w+)`\)", _flag_table(), re.M))
    assert in_help == in_table, (
        f"--helpfull and the table in {FLAGS_PAGE} differ: only in --helpfull "
        f"{sorted(in_help - in_table)}, only in the table {sorted(in_table - in_help)}")
    assert {"algorithm", "tmax", "eval", "env"} <= in_help


def test_every_setting_has_a_sentence_of_help():
    for cls in (TrainConfig, EvalConfig):
        for field in cls.__dataclass_fields__.values():
            assert field.metadata["help"].endswith("."), field.name


def _pages():
    """README.md and every docs page, as paths relative to the repository."""
    docs = sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, "docs", "*.md")))
    return ["README.md"] + docs


def _link_targets(text):
    """Targets of markdown links and images, `[..](target)` and `![..](target)`, outside code."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)


def test_every_relative_link_and_image_exists():
    missing = []
    for page in _pages():
        text = open(os.path.join(REPO, page), encoding="utf-8").read()
        for target in _link_targets(text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
                continue  # http(s), mailto: and anchors within the page
            path = target.split("#", 1)[0]
            resolved = os.path.normpath(os.path.join(REPO, os.path.dirname(page), path))
            if not os.path.exists(resolved):
                missing.append(f"{page}: {target}")
    assert not missing, "links to files that do not exist: " + ", ".join(missing)


def test_readme_links_every_docs_page():
    pages = _pages()[1:]
    assert FLAGS_PAGE in pages
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    linked = {os.path.normpath(t.split("#", 1)[0]) for t in _link_targets(text)}
    unlinked = [page for page in pages if page not in linked]
    assert not unlinked, f"README.md does not link {unlinked}"
