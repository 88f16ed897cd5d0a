"""TensorFlow's start-up logging, hidden by the command-line tools unless asked for.

Importing TensorFlow prints about ten lines of C++ logging (oneDNN, CPU
features, XLA) before a run's own first line. `TF_CPP_MIN_LOG_LEVEL` hides the
later ones, but TensorFlow writes its import-time lines before it reads that
variable (tensorflow/tensorflow#100442). So the tools call `import_quietly()`
first: it sets `TF_CPP_MIN_LOG_LEVEL=2` unless the user set it (so TensorFlow's
C++ INFO and WARNING lines stay hidden for the whole run; errors still show),
and imports TensorFlow with its standard error captured, passing on every line
that is not an INFO (level >= 1) or WARNING (level >= 2) log line; a Python
error during the import is printed with the lines kept. `TF_CPP_MIN_LOG_LEVEL=0`
shows every C++ line. It also sets absl's Python log verbosity to WARNING, which
hides TensorFlow's Python INFO lines (one per checkpoint save) in every tool.
"""

import os
import re
import sys
import tempfile

from absl import logging

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
_LOG_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d\d")  # absl/glog: I0000 00:00:17...
_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called"
_CONTINUATION = "To enable the following instructions:"  # second line of a CPU-feature INFO line


def is_noise(line, level):
    """True if `line` of TensorFlow's import-time stderr is hidden at `level` (0-3)."""
    match = _LOG_LINE.match(line)
    if match:
        return "IWEF".index(match.group(1)) < level
    return level >= 1 and (line.startswith(_PREAMBLE) or line.startswith(_CONTINUATION))


def _level():
    try:
        return int(os.environ[LEVEL_VARIABLE])
    except ValueError:
        return 0


def import_quietly():
    """Imports TensorFlow with its start-up log lines hidden (see the module docstring)."""
    logging.set_verbosity(logging.WARNING)
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault(LEVEL_VARIABLE, "2")
    level = _level()
    if level <= 0:
        import tensorflow  # noqa: F401
        return
    sys.stderr.flush()
    try:
        captured = tempfile.TemporaryFile()
    except OSError:  # No room for the capture (e.g. a full /tmp): a plain, noisy import.
        import tensorflow  # noqa: F401
        return
    saved = os.dup(2)
    with captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines()
                    if not is_noise(line, level)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)
