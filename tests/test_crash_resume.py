"""SIGKILL a real training run at random moments, restart it, and check nothing is lost twice."""

import csv
import glob
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

pytestmark = pytest.mark.slow  # learning, crash and notebook runs: the slow lane

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG_INTERVAL = 300
# The killed runs are given far more steps than they can play before their kill,
# so no kill lands after a finished run, however fast the machine; the final run
# then trains 3 more log intervals past the last checkpoint and ends.
KILLED_TOTAL = 10_000_000
# The runs count rows and checkpoints, not scores: the smallest network (universe at 42x42
# pixels, ~30,000 weights) keeps their steps and checkpoint writes cheap.
ARGS = ["--game", "async_deeprl.games:Catch-v0", "--action_repeat", "1", "--threads", "2",
        "--network", "universe", "--obs_size", "42",
        "--log_interval", str(LOG_INTERVAL), "--test_interval", "600",
        "--test_games", "1", "--update_interval", "200", "--eps_steps", "2000", "--seed", "0",
        "--replay_initial", "200",  # dqn: updates start within the first interval
        "--noxla"]  # bookkeeping, not learning: uncompiled calls start sooner (docs/tests.md)


def _env():
    """The environment of a user who has not set TF_CPP_MIN_LOG_LEVEL (tf_logs' default)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def _start(logdir, total, algorithm):
    env = _env()
    return subprocess.Popen([sys.executable, os.path.join(REPO, "run_dqn.py"), *ARGS,
                             "--algorithm", algorithm, "--total_frames", str(total),
                             "--logdir", logdir],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)


def _thread_lines(algorithm, threads):
    """The agent's start lines after 'training ...': one eps_min line per thread for one-step
    Q, one replay-buffer line for DQN, none for A3C."""
    return dict(one_step_q=threads, dqn=1).get(algorithm, 0)


def _read_until_started(proc, thread_lines):
    """Lines up to the 'training ...' line printed as the threads start, and the
    `thread_lines` lines that follow it."""
    lines, after = [], None
    while after != 0:
        line = proc.stdout.readline()
        assert line, "the run ended before it started training:\n" + "".join(lines)
        lines.append(line)
        if after is not None:
            after -= 1
        elif line.startswith("training "):
            after = thread_lines
    # The run's own lines come first: TensorFlow's start-up logging is hidden (tf_logs).
    assert lines[0].startswith(("resuming from ", "training ")), lines
    return lines


def _latest_step(logdir):
    path = tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints"))
    return None if path is None else int(path.rsplit("-", 1)[1])


def _tb_steps(logdir, tag):
    steps = []
    for path in glob.glob(os.path.join(logdir, "tb", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            steps += [event.step for v in event.summary.value if v.tag == tag]
    return sorted(steps)


# What a SIGKILL can break is the runner's order of writes (checkpoint, then the rows it
# covers) and what a resume reads back, so two agents whose runs start and resume differently:
# one-step Q (the default; each thread's eps_min restored and printed again) and DQN (its replay
# buffer is not in checkpoints, and the resumed run says so). Every agent's checkpoint items,
# A3C LSTM's recurrent torso included, round-trip in tests/test_checkpointing.py.
@pytest.mark.parametrize("algorithm", ["one_step_q", "dqn"])
def test_sigkill_at_random_moments_then_resume(tmp_path, algorithm):
    logdir = str(tmp_path / "run")
    rng = random.Random(0)
    eps_lines, resumed_at = None, []
    for kill in range(2):
        before = _latest_step(logdir)
        proc = _start(logdir, KILLED_TOTAL, algorithm)
        lines = _read_until_started(proc, _thread_lines(algorithm, 2))
        if before is not None:
            assert any(f"at T={before}" in line for line in lines if line.startswith("resuming")), lines
            resumed_at.append(before)
        eps = [line for line in lines if "eps_min" in line]
        assert len(eps) == (2 if algorithm == "one_step_q" else 0), lines
        if algorithm == "dqn":  # The buffer is not in checkpoints, and the run says so.
            again = any("replay buffer" in line and "again" in line for line in lines)
            assert again == (before is not None), lines
        assert eps_lines is None or eps == eps_lines  # each thread keeps its eps_min
        eps_lines = eps
        if kill == 0:  # The first kill comes after the first checkpoint, however slow the host.
            while " frames=" not in (line := proc.stdout.readline()):
                assert line, "the run ended before its first checkpoint"
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert _latest_step(logdir) is not None, "no checkpoint was complete before the kills"
    before = _latest_step(logdir)
    total = before + 3 * LOG_INTERVAL
    final = _start(logdir, total, algorithm)
    out, _ = final.communicate(timeout=300)
    assert final.returncode == 0, out
    assert f"at T={before}" in out.split("\n")[0], out  # the final run resumes too
    assert _latest_step(logdir) == total
    resumed_at.append(before)
    assert len(resumed_at) == 2 and resumed_at == sorted(resumed_at)

    with open(os.path.join(logdir, "train.csv"), newline="") as f:
        steps = [int(r["agent_steps"]) for r in csv.DictReader(f)]
    assert steps == sorted(set(steps)), steps  # no duplicates
    assert steps[-1] == total
    gaps = [b - a for a, b in zip([0] + steps, steps)]
    assert max(gaps) <= 2 * LOG_INTERVAL + 300, gaps  # at most one interval lost per kill
    tb = _tb_steps(logdir, "train/agent_steps_per_s")
    # TensorBoard holds the CSV's rows, each once; a kill that lands between a row's CSV
    # line and its TensorBoard event (both flushed at once) loses that one event.
    assert tb == sorted(set(tb)) and set(tb) <= set(steps)
    assert len(steps) - len(tb) <= 4, (steps, tb)
    with open(os.path.join(logdir, "test.csv"), newline="") as f:
        test_steps = [int(r["agent_steps"]) for r in csv.DictReader(f)]
    assert test_steps == sorted(set(test_steps))
    tb_tests = _tb_steps(logdir, "test/test_score_mean")
    assert tb_tests == sorted(set(tb_tests)) and set(tb_tests) <= set(test_steps)
    assert len(test_steps) - len(tb_tests) <= 4


@pytest.mark.parametrize("algorithm", ["one_step_q"])  # the runner's stop: any agent's
def test_sigterm_stops_all_threads_saves_and_exits_zero(tmp_path, algorithm):
    logdir = str(tmp_path / "run")
    args = [*ARGS, "--algorithm", algorithm, "--total_frames", str(KILLED_TOTAL)]
    env = _env()
    proc = subprocess.Popen([sys.executable, os.path.join(REPO, "run_dqn.py"), *args, "--threads", "4",
                             "--logdir", logdir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    _read_until_started(proc, _thread_lines(algorithm, 4))
    time.sleep(3)
    sent = time.time()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert time.time() - sent < 15
    assert "SIGTERM received" in out
    saved = _latest_step(logdir)
    assert saved is not None and f"ckpt-{saved}; T={saved}" in out
