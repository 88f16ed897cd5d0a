"""Worker processes on Ray sharing one model (`--workers`): the split update, learning,
the exact step counter, resume across worker counts, a killed worker, holder and driver."""

import csv
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import learning_utils
from agent_utils import make_agent, random_segment
from async_deeprl import checkpointing, settings, training
from async_deeprl.config import ConfigError, TrainConfig

ray = pytest.importorskip("ray")  # the [test] extra installs it; CI always has it

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATCH = "async_deeprl.games:Catch-v0"
CATCH_FLAGS = os.path.join(REPO, "flags", "catch.flags")
ASYNC = ("one_step_q", "one_step_sarsa", "n_step_q", "a3c")


@pytest.mark.parametrize("algorithm", ASYNC)
def test_gradients_then_apply_equals_one_update(algorithm):
    """A worker's `gradients` plus the holder's `apply_gradients` move the weights exactly as
    the single-process `update` of the same segment does, and report the same stats."""
    one, split = make_agent(algorithm), make_agent(algorithm)
    split.set_weights(one.get_weights())
    rng = np.random.default_rng(0)
    for _ in range(2):
        args = one.update_args(random_segment(rng, 5), rng.integers(0, 256, (84, 84, 4),
                                                                     dtype=np.uint8))
        lr = np.float32(1e-3)
        stats = one.update(*args, lr).numpy()
        split_stats, grads = split.gradients(*args, lr)
        split.apply_gradients(grads, lr)
        np.testing.assert_allclose(split_stats.numpy(), stats, rtol=1e-5)
    for a, b in zip(one.online.get_weights(), split.online.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("algorithm", ("one_step_q", "a3c"))
def test_flat_transport_moves_weights_and_updates_exactly(algorithm):
    """`transport.FlatAgent`: one flat float32 array per network round-trips the weights bit
    for bit, and a flat gradient applied by the holder moves the weights as `update` does."""
    from async_deeprl.distributed import transport

    one, holder, worker = (make_agent(algorithm) for _ in range(3))
    holder.set_weights(one.get_weights())
    flat_holder, flat_worker = transport.FlatAgent(holder), transport.FlatAgent(worker)
    sent = flat_holder.weights()
    assert set(sent) == set(holder.shared_models())
    assert flat_holder.weights([]) == {}
    size = sum(w.size for w in one.online.get_weights())
    assert sent["online"].shape == (size,) and sent["online"].dtype == np.float32
    flat_worker.set_weights(sent)
    for a, b in zip(one.online.get_weights(), worker.online.get_weights()):
        np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(0)
    for _ in range(2):
        args = one.update_args(random_segment(rng, 5), rng.integers(0, 256, (84, 84, 4),
                                                                     dtype=np.uint8))
        lr = np.float32(1e-3)
        stats = one.update(*args, lr).numpy()
        worker_stats, flat = flat_worker.gradients(*args, lr)
        assert flat.shape == (size,)
        new = flat_holder.apply(flat.numpy()[None], lr)
        np.testing.assert_array_equal(new, flat_holder.weights(["online"])["online"])
        flat_worker.set_weights(dict(online=new))
        np.testing.assert_allclose(worker_stats.numpy(), stats, rtol=1e-5)
    for a, b, c in zip(one.online.get_weights(), holder.online.get_weights(),
                       worker.online.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(b, c)


@pytest.mark.parametrize("algorithm,optimizer", [("one_step_q", "rmsprop"), ("n_step_q", "adam")])
def test_holder_applies_the_rows_of_one_message_as_that_many_updates(algorithm, optimizer):
    """`FlatAgent.apply` of a [3, size] message (one compiled call) moves the weights, the
    optimizer's statistics and its step count as three `apply_gradients` calls in turn."""
    from async_deeprl.distributed import transport

    one, fused = (make_agent(algorithm, optimizer=optimizer) for _ in range(2))
    for agent in (one, fused):
        agent.warm_up([1])
    fused.set_weights(one.get_weights())
    flat_one, flat_fused = transport.FlatAgent(one), transport.FlatAgent(fused)
    flat_fused.set_optimizer_state(flat_one.optimizer_state())
    sizes = [int(np.prod(v.shape)) for v in one.trainable_variables]
    rows = np.random.default_rng(0).normal(0, 1e-2, (3, sum(sizes))).astype(np.float32)
    start = flat_one.weights(["online"])["online"]
    lr = np.float32(1e-3)
    for row in rows:
        one.apply_gradients([part.reshape(v.shape) for part, v in
                             zip(np.split(row, np.cumsum(sizes)[:-1]), one.trainable_variables)],
                            lr)
    new = flat_fused.apply(rows, lr)
    expected = flat_one.optimizer_state()
    assert flat_fused.optimizer_state()["iterations"] == expected["iterations"]
    for kind, values in flat_fused.optimizer_state().items():
        np.testing.assert_allclose(values, expected[kind], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(new, flat_one.weights(["online"])["online"], rtol=1e-5,
                               atol=1e-7)
    assert np.abs(new - start).max() > 1e-4  # the updates moved the weights


@pytest.mark.parametrize("algorithm,optimizer", [("one_step_q", "rmsprop"), ("a3c", "rmsprop"),
                                                 ("n_step_q", "adam")])
def test_shards_update_their_slices_as_one_optimizer_updates_the_whole(algorithm, optimizer):
    """`--holder_shards`: two `shards.Shard`s (plain objects here, Ray actors in a run), each
    given its slice of the model, apply slices of worker-clipped gradients; joined again,
    weights, target and optimizer statistics equal those of the agent's own `update`."""
    from async_deeprl.distributed import shards, transport

    one, holder, worker = (make_agent(algorithm, optimizer=optimizer, grad_clip_norm=0.05)
                           for _ in range(3))
    for agent in (one, holder):
        agent.warm_up([1])  # builds the optimizer's slots
    holder.set_weights(one.get_weights())
    flat_one, flat_holder, flat_worker = (transport.FlatAgent(a) for a in (one, holder, worker))
    flat_holder.set_optimizer_state(flat_one.optimizer_state())
    state = flat_holder.optimizer_state()
    weights = flat_holder.weights()
    state.update(online=weights["online"], target=weights.get("target"))
    size = state["online"].size
    assert transport.bounds(size, 2) == [(0, size // 2), (size // 2, size)]
    parts = shards.split_state(state, 2)
    assert shards.join_states(parts).keys() == state.keys()
    config = one.config
    pieces = [shards.Shard(config, part) for part in parts]
    rng = np.random.default_rng(0)
    for _ in range(3):
        worker.set_weights(one.get_weights())
        args = one.update_args(random_segment(rng, 5), rng.integers(0, 256, (84, 84, 4),
                                                                     dtype=np.uint8))
        lr = np.float32(1e-3)
        _, flat = flat_worker.clipped_gradients(*args, lr)
        one.update(*args, lr)
        flat = flat.numpy()
        answers = [piece.apply([flat[a:b]], lr, 0)
                   for piece, (a, b) in zip(pieces, transport.bounds(size, 2))]
        np.testing.assert_allclose(np.concatenate([a[0] for a in answers]),
                                   flat_one.weights(["online"])["online"], rtol=1e-5, atol=1e-6)
    one.sync_target()
    for piece in pieces:
        piece.sync_target()
    joined = shards.join_states([piece.state() for piece in pieces])
    expected = flat_one.optimizer_state()
    expected.update(flat_one.weights())
    assert joined["iterations"] == expected["iterations"]
    for key in ("online", "velocity", "momentum", "target"):
        if key in expected:
            np.testing.assert_allclose(joined[key], expected[key], rtol=1e-4, atol=1e-6)
        else:
            assert joined.get(key) is None


def test_gradients_of_a_non_finite_loss_are_flagged():
    agent = make_agent("n_step_q")
    seg = random_segment(np.random.default_rng(1), 5)
    seg.rewards[0] = float("nan")
    stats, _ = agent.gradients(*agent.update_args(seg, np.zeros((84, 84, 4), np.uint8)),
                               np.float32(1e-3))
    assert np.isnan(stats.numpy()).all()


def test_dqn_and_ray_address_without_workers_are_refused():
    with pytest.raises(ConfigError, match="--workers is for the asynchronous agents"):
        TrainConfig(algorithm="dqn", workers=2).validate()
    with pytest.raises(ConfigError, match="--ray_address needs --workers > 0"):
        TrainConfig(ray_address="auto").validate()
    with pytest.raises(ConfigError, match="--gradients_per_message > 1 needs --workers > 0"):
        TrainConfig(gradients_per_message=4).validate()


def test_a_worker_sends_its_gradients_k_at_a_time_in_arrival_order():
    """--gradients_per_message 3: the gradients of successive TF calls (one or several segments
    each) leave as [3, size] arrays in the order they were computed, the rest waits; a stopping
    worker's flush sends whatever is left, and nothing when nothing is."""
    from async_deeprl.distributed.transport import GradientBatcher

    batcher = GradientBatcher(3)
    g = [np.full(4, i, np.float32) for i in range(6)]
    assert batcher.add([g[0]]) is None
    assert batcher.add([]) is None
    np.testing.assert_array_equal(batcher.add([g[1], g[2], g[3]]), np.stack(g[:3]))
    assert batcher.add([g[4]]) is None
    np.testing.assert_array_equal(batcher.flush(), np.stack(g[3:5]))
    assert batcher.flush() is None
    each = GradientBatcher()  # the default: every call that finished a segment sends
    np.testing.assert_array_equal(each.add([g[5]]), g[5][None])
    assert each.add([]) is None  # a call whose update was not finite sends nothing


# The in-process Ray runs below share a local Ray instance per xdist worker (the module's
# fixture): a run that finds Ray started uses it and leaves it up, so each skips Ray's start
# and stop. They are marked as one xdist group, but with pytest 9.2 and pytest-xdist 3.8 the
# mark has no effect (xdist renames `item._nodeid`, which pytest 9.2 no longer reads), so the
# two workers may each run some of them. The command-line runs further down start their own,
# as a user's run does.
def in_process_ray(test):
    """An in-process Ray run: on its worker's shared instance, in the (inert) xdist group."""
    return pytest.mark.xdist_group("ray-in-process")(pytest.mark.usefixtures("local_ray")(test))


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance started as a run starts its own."""
    from async_deeprl.distributed.backend import start_ray

    start_ray(workers=2)
    yield
    ray.shutdown()


@in_process_ray
def test_a_local_ray_runs_its_worker_processes_at_the_commands_niceness():
    """Ray starts its worker processes at niceness 15 unless told; a run's local instance
    starts them at the niceness of the process that started it."""
    @ray.remote
    def niceness():
        return os.nice(0)

    assert ray.get(niceness.remote()) == os.nice(0)


def _config(logdir, total, workers, **extra):
    settings = dict(game=CATCH, logdir=str(logdir), threads=2, workers=workers,
                    total_frames=total, action_repeat=1, lr=3e-3, eps_steps=10_000,
                    update_interval=500, log_interval=5_000, test_interval=0, seed=1, xla=False)
    return TrainConfig(**{**settings, **extra})


def _rows(logdir, name):
    with open(os.path.join(logdir, f"{name}.csv")) as f:
        return [int(row["agent_steps"]) for row in csv.DictReader(f)]


def _one_row_per_interval(rows, interval, total):
    """Workers claim steps in blocks, so a row lands within a block after each multiple."""
    assert rows == sorted(set(rows)) and rows[-1] == total
    assert [r // interval for r in rows[:-1]] == list(range(1, len(rows)))


def _kill_worker_at(trainer, step, result):
    """Runs `trainer` in a thread; SIGKILLs its worker 0 once the run passes `step`."""
    pid = trainer.backend.worker_pids()[0]
    thread = threading.Thread(target=lambda: result.update(trainer.run()))
    thread.start()
    deadline = time.time() + 300
    while trainer.counter.value < step and thread.is_alive() and time.time() < deadline:
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    thread.join(900)
    assert not thread.is_alive()


# The fault and bookkeeping runs below: n-step Q with gamma 0.9 and RMSProp at 5e-3. They count
# steps, updates and rows and none of them checks a score, so they run the smallest network
# (universe at 42x42 pixels: 29,795 weights for n-step Q on Catch, where the paper's at 84x84 has
# 676,915), which halves the cost of a step on Ray (a gradient up and the weights back per
# segment), and uncompiled (--noxla), which saves each of their processes 2-5 CPU-seconds of
# start-up; the learning run below keeps the shipped defaults.
SMALL_NET = dict(network="universe", obs_size=42)
RAY_LEARNING = dict(algorithm="n_step_q", gamma=0.9, lr=5e-3, **SMALL_NET)


@pytest.mark.slow
@in_process_ray
def test_a_killed_worker_is_restarted_and_the_step_count_stays_exact(tmp_path):
    """1 worker x 2 threads, 3,000 steps; the worker is SIGKILLed at T=1,000, Ray restarts it
    and the run goes on to exactly its budget, seeded where it went on. (One worker: the run
    cannot go on without the restart; one process fewer to start than with two.)"""
    logdir = tmp_path / "killed"
    result = {}
    _kill_worker_at(training.make_trainer(_config(logdir, 3_000, workers=1, log_interval=1_000,
                                                  **RAY_LEARNING)), 1_000, result)
    assert result["worker_restarts"] == 1
    # The restarted worker is seeded at the step it goes on at, not at the run's start (so
    # its threads and environments do not replay the streams they began with).
    assert result["restart_steps"][0] >= 1_000
    assert result["step"] == 3_000  # the budget met exactly; the dead worker's block counted
    assert 3_000 - 32 <= result["played"] <= 3_000  # its last block unreported, at most
    assert result["target_syncs"] == 3_000 // 500
    # At least one update per 5 steps a thread plays (a segment ends at 5 steps or a
    # terminal), less what a run may drop: each thread's last unfinished segment at the end
    # (2 threads) and, in the killed worker, each thread's segment whose steps were reported
    # but whose gradients died with it (2 threads).
    assert result["updates"] >= result["played"] // 5 - 2 - 2
    _one_row_per_interval(_rows(logdir, "train"), 1_000, 3_000)


# The README's Catch command with --workers 2 --threads 1 --gradients_per_message 2 and the
# default agent: the flagfile's 2 learner threads, one in each of two processes (one-step Q: one
# update per segment of up to 5 steps), the updates sent two to a message: half the Ray traffic
# of one per message (86 against 119 CPU-seconds to 10,000 steps) and a greedy mean past the bar
# as soon (docs/results.md "Catch on Ray workers"); the killed worker's run above sends one per
# message. A checkpoint every 2,500 agent steps (log rows and checkpoints only) and room for a
# slow run up to 45,000 (past the flagfile's 30,000 the run goes on as it was: Adam keeps a
# constant rate and epsilon is final by 10,000). Threads and workers interleave differently each
# run; docs/results.md "Catch on Ray workers" has the scores.
RAY_CATCH_CHECKS = dict(first=5_000, interval=2_500, last=45_000)


@pytest.mark.slow
@in_process_ray
def test_two_workers_learn_catch_from_the_flagfile(tmp_path):
    """`--flagfile flags/catch.flags --workers 2 --threads 1 --gradients_per_message 2`
    (one-step Q): each checkpoint from 5,000 steps on plays 30 greedy games while the run goes
    on, and the run stops at the first that clears the single-process test's bar (a mean of 0
    or more, 7 above a random policy measured here)."""
    config = settings.from_flagfile(TrainConfig, CATCH_FLAGS, workers=2, threads=1,
                                    gradients_per_message=2,
                                    logdir=str(tmp_path / "catch"),
                                    total_frames=RAY_CATCH_CHECKS["last"],
                                    log_interval=RAY_CATCH_CHECKS["interval"])
    assert config.algorithm == "one_step_q"
    random = learning_utils.random_mean(CATCH, action_repeat=1)
    assert random < -3

    def clears(mean):  # the single-process learning test's bar (tests/test_learning.py)
        return mean >= 0 and mean >= random + 7

    summary, played = learning_utils.learn_until(config, RAY_CATCH_CHECKS["first"], clears)
    print(f"Catch, 2 workers x 1 thread: greedy means {played} (checkpoint step, mean over 30 "
          f"games); random {random:.2f}")
    assert clears(played[-1][1]), f"greedy means {played}, random {random:.2f}"
    assert RAY_CATCH_CHECKS["first"] <= played[-1][0] <= summary["step"]


@pytest.mark.slow
@in_process_ray
def test_a_sharded_holder_counts_exactly_and_checkpoints_what_its_shards_hold(tmp_path):
    """--holder_shards 2 (and --gradients_per_message 3): every update reaches both shards
    (gradient bytes = updates x the whole gradient), and the checkpoint holds the shards'
    state: its optimizer step count is the warm-up's 1 plus every update applied. The logdir
    then resumes in one process."""
    from async_deeprl import checkpointing

    logdir = tmp_path / "sharded"
    summary = training.train(_config(logdir, 1_000, workers=1, threads=2, holder_shards=2,
                                   tf_threads=1, gradients_per_message=3, log_interval=500,
                                   **RAY_LEARNING))
    assert summary["step"] == 1_000 and summary["target_syncs"] == 1_000 // 500
    assert summary["updates"] >= summary["played"] // 5 - 2
    # 3 updates a message, but the worker's last (its flush at the stop) may carry 1 or 2.
    assert 3 * summary["messages"] - 2 <= summary["updates"] <= 3 * summary["messages"]
    agent = make_agent("n_step_q", num_actions=3, **SMALL_NET)
    size = sum(int(np.prod(v.shape)) for v in agent.trainable_variables)
    assert summary["gradient_bytes"] == summary["updates"] * size * 4
    agent.warm_up([1])
    checkpointer = checkpointing.Checkpointer(str(logdir), agent.checkpoint_items())
    checkpointer.restore_latest()
    assert int(checkpointer.step.numpy()) == 1_000
    assert int(agent.optimizer.iterations.numpy()) == 1 + summary["updates"]
    resumed = training.train(_config(logdir, 1_500, workers=0, **RAY_LEARNING))
    assert resumed["step"] == 1_500 and resumed["target_syncs"] == 1  # at T=1,500
    assert _rows(logdir, "train")[-2:] == [1_000, 1_500]


# The command-line runs log (and checkpoint) every 250 agent steps: the first row comes soon
# after the run starts, and a resume plays one interval. One TensorFlow thread per process, as
# tests/conftest.py gives the single-process runs (the suite keeps both cores busy).
CLI_INTERVAL = 250


def _start_training(logdir, workers, extra, stderr):
    """(command without --total_frames, env, the process, its lines so far) of a Catch run
    with `workers` worker processes started from the command line, once its first log row
    (after the first checkpoint) is out."""
    cmd = [sys.executable, os.path.join(REPO, "run_dqn.py"), "--game", CATCH,
           "--action_repeat", "1", "--threads", "1", "--workers", str(workers),
           "--log_interval", str(CLI_INTERVAL), "--test_interval", "0", "--seed", "0", "--network",
           SMALL_NET["network"], "--obs_size", str(SMALL_NET["obs_size"]), "--tf_threads", "1",
           "--noxla",
           *extra,
           "--logdir", logdir]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd + ["--total_frames", "10000000"], stdout=subprocess.PIPE,
                            stderr=stderr, text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if " frames=" in line:
            break
    return cmd, env, proc, lines


@pytest.mark.slow
def test_a_killed_driver_or_holder_leaves_a_run_that_the_same_command_resumes(tmp_path):
    """A 1-worker run from the command line whose driver (the command itself) is SIGKILLed
    after its first row leaves a checkpoint that the same command resumes from. The parameter
    holder is the one process a run cannot go on without: SIGKILLed in that resumed run, the
    run stops at once with exit 1 and one line that names it and how to resume, its last
    checkpoint intact (the one a resume would take) and no row past it or logged twice. (One
    chain of two runs: the resume is the second crash's start.)"""
    from proc_utils import named

    logdir = str(tmp_path / "run")
    extra = ["--gradients_per_message", "2"]  # a worker's last message may carry one gradient
    cmd, env, proc, lines = _start_training(logdir, 1, extra, stderr=subprocess.STDOUT)
    proc.kill()
    proc.wait()
    assert " frames=" in lines[-1], "".join(lines)
    killed_at = int(os.path.basename(checkpointing.latest_checkpoint(logdir)).split("-")[1])
    assert 0 < killed_at and _rows(logdir, "train")[-1] <= killed_at

    cmd, env, proc, lines = _start_training(logdir, 1, extra, stderr=subprocess.PIPE)
    assert any(f"resuming from {logdir}/checkpoints/ckpt-{killed_at} at T={killed_at}" in line
               for line in lines), "".join(lines)
    holders = named(proc.pid, "ray::Holder")
    assert len(holders) == 1, "".join(lines)
    os.kill(holders[0], signal.SIGKILL)
    killed = time.monotonic()
    out, err = proc.communicate(timeout=120)
    assert time.monotonic() - killed < 60
    assert proc.returncode == 1, out + err
    latest = os.path.basename(checkpointing.latest_checkpoint(logdir))
    # Ray's log monitor may forward a raylet line about the dead process's socket first
    # ("(raylet) ... Failed to send wait complete"); the run's own output is the one line.
    ours = [line for line in err.splitlines() if "(raylet)" not in line]
    assert ours == [
        f"error: the parameter holder died (ActorDiedError) (pid {holders[0]}): the run stopped; "
        f"its last checkpoint {latest} and the log rows it covers are intact; rerun the same "
        "command to resume from it"], err
    step = int(latest.split("-")[1])
    assert step > killed_at  # the resumed run checkpointed before its first row
    assert os.path.basename(checkpointing.newest_intact_checkpoint(logdir)) == latest
    rows = _rows(logdir, "train")
    assert rows[-1] == step and rows == sorted(set(rows))  # none past it, none twice
