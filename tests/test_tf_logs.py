"""TensorFlow's start-up log lines are hidden by default and shown at TF_CPP_MIN_LOG_LEVEL=0."""

import os
import subprocess
import sys

import pytest

from async_deeprl import tf_logs

INFO = ("I0000 00:00:1795603486.632728   19315 port.cc:153] oneDNN custom operations are on. "
        "You may see slightly different numerical results")
WARNING = "W0000 00:00:1795603486.632728   19315 foo.cc:1] something to check"
ERROR = "E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to register cuDNN factory"
PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
CONTINUATION = ("To enable the following instructions: AVX2 AVX512F FMA, in other operations, "
                "rebuild TensorFlow with the appropriate compiler flags.")
OTHER = "Traceback (most recent call last):"


@pytest.mark.parametrize("level, hidden", [
    (0, set()),
    (1, {INFO, PREAMBLE, CONTINUATION}),
    (2, {INFO, WARNING, PREAMBLE, CONTINUATION}),
    (3, {INFO, WARNING, ERROR, PREAMBLE, CONTINUATION}),
])
def test_is_noise_hides_log_lines_below_the_level_and_keeps_the_rest(level, hidden):
    lines = {INFO, WARNING, ERROR, PREAMBLE, CONTINUATION, OTHER}
    assert {line for line in lines if tf_logs.is_noise(line, level)} == hidden


def _import_in_subprocess(level):
    env = dict(os.environ)
    env.pop(tf_logs.LEVEL_VARIABLE, None)
    if level is not None:
        env[tf_logs.LEVEL_VARIABLE] = level
    code = ("from async_deeprl import tf_logs; tf_logs.import_quietly(); "
            "import sys; print('imported', 'tensorflow' in sys.modules)")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


def test_import_is_quiet_by_default_and_verbose_at_level_0():
    quiet = _import_in_subprocess(None)
    assert quiet.returncode == 0 and quiet.stdout == "imported True\n"
    assert quiet.stderr == "", quiet.stderr
    verbose = _import_in_subprocess("0")
    assert verbose.returncode == 0 and verbose.stdout == "imported True\n"
    # What TensorFlow prints on import on this CPU build (oneDNN is on by default on x86).
    assert "oneDNN custom operations are on" in verbose.stderr, verbose.stderr
