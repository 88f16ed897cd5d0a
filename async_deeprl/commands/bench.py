"""Throughput benchmark: env-only and training agent steps/s, side by side in one run.

    python -m async_deeprl.bench --threads 1,2,4,8,16 --seconds 20

For each thread count, on the same game and the same env code:
  env-only: every thread steps its own environment with random actions;
  training: the real trainer (acting, bootstrapping, asynchronous updates).
It prints a table with both rates, their ratio, where a learner thread's time
goes per agent step (env, waiting for TensorFlow, the rest), the TF server's
busy share and batch size, and the peak RSS; and writes JSON and a PNG plot.
All rates are agent steps per second (one action of one thread; `--action_repeat`
emulator frames each, 4 by default).

    python -m async_deeprl.bench --train_flagfile flags/dqn_pong.flags --threads 1

measures the training side with a run's own settings (its agent, game, action repeat,
optimizer, ...; the bench sets only the threads, TF servers, run length and, for dqn, a
500-transition warm-up of the buffer), env-only on the same game and preprocessing.

    python -m async_deeprl.bench --workers 1,2,4 --threads 2 --seconds 30

measures instead, in one run: for each worker count W, the shared-model run with
W worker processes x `--threads` threads on Ray (aggregate agent steps/s),
beside one process with the same W x threads learner threads and env-only at
that thread count; and once, C/2 independent 2-thread trainer processes at the
same time (C = cores, no shared weights), their rates summed: the bar the
shared model is measured against. `--threads 2,4` with `--workers 8,4` pairs
them (8 x 2, 4 x 4). For each shared-model run it also reports the updates the
holder applied per second, the gradient megabytes it received per second, its
busy share (time inside its update calls, summed over their concurrent calls,
over wall time: near or above 100 % it is the bottleneck), and how long a
worker's TF call waited for the holder's answer per update. `--holder_shards 1,2`
measures each shared-model run once per shard count (with shards, the busy share
is the busiest shard's); `--tf_threads 1,2` once per TF thread count of each Ray
process (0: cores / workers, the trainer's default); `--gradients_per_message 1,4`
once per number of segment gradients a worker sends in one message.
"""

import dataclasses
import itertools
import json
import os
import platform
import resource
import tempfile
import threading
import time

from absl import app, flags

from async_deeprl import tf_logs
from async_deeprl.commands.env_timing import cpu_name, env_only_steps_per_s

_GAME = flags.DEFINE_string("game", "SpaceInvaders-v0", "Gymnasium id to benchmark.")
_THREADS = flags.DEFINE_list("threads", ["1", "2", "4", "8", "16"], "Comma-separated thread counts.")
_SECONDS = flags.DEFINE_float("seconds", 20.0, "Measured seconds per phase (after warm-up).")
_WARMUP = flags.DEFINE_float("warmup", 5.0, "Seconds run before measuring each phase.")
_ACTION_REPEAT = flags.DEFINE_integer("action_repeat", 4, "Emulator frames per agent step, in both phases.")
_TF_SERVERS = flags.DEFINE_integer("tf_servers", 2, "TF server threads of the trainer (0: direct calls).")
_ALGORITHM = flags.DEFINE_list(
    "algorithm", ["one_step_q"], "Comma-separated agents to train (one_step_q, one_step_sarsa, "
    "n_step_q, a3c); env-only is measured once per thread count, beside them.")
_WORKERS = flags.DEFINE_list(
    "workers", [], "Comma-separated worker-process counts: benchmark --workers runs (see the "
    "module docstring) with the first --threads value per worker, or with the i-th --threads "
    "value for the i-th worker count when both lists have the same length.")
_HOLDER_SHARDS = flags.DEFINE_list(
    "holder_shards", ["1"], "Comma-separated --holder_shards values: each --workers row's "
    "shared-model run is measured once per value.")
_TF_THREADS = flags.DEFINE_list(
    "tf_threads", ["0"], "Comma-separated --tf_threads values (TF intra- and inter-op threads "
    "of each Ray process; 0: cores / workers): each --workers row's shared-model run is "
    "measured once per value and --holder_shards value.")
_PER_MESSAGE = flags.DEFINE_list(
    "gradients_per_message", ["1"], "Comma-separated --gradients_per_message values (segment "
    "gradients a worker sends to the holder in one message): each --workers row's shared-model "
    "run is measured once per value (and per --holder_shards and --tf_threads value).")
_ONE_JSON = flags.DEFINE_bool(
    "one_training_json", False, "Internal: measure one training run (first --threads and "
    "--algorithm) and print its figures as one JSON line.")
_TRAIN_FLAGFILE = flags.DEFINE_string(
    "train_flagfile", "", "A trainer flagfile (e.g. flags/dqn_pong.flags) whose settings the "
    "training runs use (and env-only its game and preprocessing), its --algorithm, --game and "
    "--action_repeat instead of the bench's; '': the bench's own flags and the defaults.")
_OUT = flags.DEFINE_string("out", "runs/bench", "Path prefix of the .json and .png results ('' for none); the shipped ones were written with --out assets/bench.")


def training_steps_per_s(game, threads, seconds, warmup, tf_servers, action_repeat=4,
                         algorithm="one_step_q", workers=0, base=None, holder_shards=1,
                         tf_threads=0, gradients_per_message=1):
    """Global agent steps/s of the real trainer, and where its threads' time went (for one
    process; with `workers` the aggregate rate of the shared-model run only). `base`: a
    TrainConfig whose settings the run keeps, instead of `game`, `action_repeat`, `algorithm`
    and the defaults."""
    from async_deeprl import training
    from async_deeprl.config import TrainConfig

    with tempfile.TemporaryDirectory() as logdir:
        run = dict(logdir=logdir, threads=threads, total_frames=10**12, log_interval=10**11,
                   test_interval=0, seed=0, tf_servers=tf_servers, workers=workers,
                   holder_shards=holder_shards, tf_threads=tf_threads,
                   gradients_per_message=gradients_per_message,
                   replay_initial=500)  # dqn: updates start within the warm-up
        if base is None:
            config = TrainConfig(algorithm=algorithm, game=game, action_repeat=action_repeat,
                                 **run)
        else:
            config = dataclasses.replace(base, **run)
        stop = threading.Event()
        trainer = training.make_trainer(config, stop, show_progress=False)
        if workers:
            return _shared_model_rate(trainer, stop, seconds, warmup)
        worker = threading.Thread(target=trainer.run)
        worker.start()
        _wait_until_stepping(lambda: trainer.timing()[0], worker, stop)
        time.sleep(warmup)
        server = trainer.backend.dispatcher

        def snapshot():
            step, times = trainer.timing()
            return (step, time.time(), times, getattr(server, "busy_seconds", 0.0),
                    getattr(server, "calls", 0), getattr(server, "requests", 0))

        s0 = snapshot()
        time.sleep(seconds)
        s1 = snapshot()
        stop.set()
        worker.join()
    steps, wall = s1[0] - s0[0], s1[1] - s0[1]
    env_s, wait_s = s1[2] - s0[2]
    calls, requests = s1[4] - s0[4], s1[5] - s0[5]
    per_step = lambda seconds_: 1e3 * seconds_ / max(steps, 1)
    return dict(train_steps_per_s=steps / wall,
                env_ms_per_step=per_step(env_s), tf_wait_ms_per_step=per_step(wait_s),
                other_ms_per_step=per_step(threads * wall - env_s - wait_s),
                tf_server_busy=(s1[3] - s0[3]) / wall / tf_servers if tf_servers else None,
                requests_per_call=requests / calls if calls else None)


def _wait_until_stepping(step_fn, worker, stop, timeout=600.0):
    """Returns once the trainer run by thread `worker` has played its first agent steps (its
    start-up: building the model, compiling, for --workers starting Ray and the worker
    processes, is left out of the warm-up and the measured seconds); else sets `stop` and
    raises."""
    deadline = time.time() + timeout
    while worker.is_alive() and time.time() < deadline:
        try:
            if step_fn() > 0:
                return
        except AttributeError:  # not started far enough to count yet
            pass
        time.sleep(0.1)
    stop.set()
    raise RuntimeError("the trainer did not start stepping within "
                       f"{timeout:.0f} s" if worker.is_alive() else "the trainer stopped early")


def _shared_model_rate(trainer, stop, seconds, warmup):
    worker = threading.Thread(target=trainer.run)
    worker.start()
    _wait_until_stepping(lambda: trainer.counter.value, worker, stop)
    time.sleep(warmup)
    s0, t0, x0 = trainer.counter.value, time.time(), trainer.backend.transport_stats()
    time.sleep(seconds)
    s1, t1, x1 = trainer.counter.value, time.time(), trainer.backend.transport_stats()
    stop.set()
    worker.join()
    wall, updates = t1 - t0, max(x1["updates"] - x0["updates"], 1)
    return dict(train_steps_per_s=(s1 - s0) / wall,
                holder_updates_per_s=(x1["updates"] - x0["updates"]) / wall,
                holder_messages_per_s=(x1["messages"] - x0["messages"]) / wall,
                holder_mb_in_per_s=(x1["bytes_in"] - x0["bytes_in"]) / wall / 1e6,
                holder_busy=(x1["busy_seconds"] - x0["busy_seconds"]) / wall,
                worker_wait_ms_per_update=1e3 * (x1["wait_seconds"] - x0["wait_seconds"]) / updates)


def independent_processes_steps_per_s(processes, threads, seconds, warmup, algorithm):
    """Summed agent steps/s of `processes` trainer processes of `threads` threads, all at once
    (each its own model), with `--warmup` extra seconds for the later ones to start."""
    import subprocess
    import sys

    args = [sys.executable, "-m", "async_deeprl.commands.bench", "--one_training_json", "--out", "",
            f"--game={_GAME.value}", f"--threads={threads}", f"--algorithm={algorithm}",
            f"--seconds={seconds}", f"--warmup={warmup + 5 * processes}",
            f"--action_repeat={_ACTION_REPEAT.value}", f"--tf_servers={_TF_SERVERS.value}"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    rates = [json.loads(p.communicate()[0].strip().splitlines()[-1])["train_steps_per_s"]
             for p in procs]
    return sum(rates), rates


def _workers_bench():
    """The --workers benchmark (module docstring); returns its result dict."""
    algorithm = _ALGORITHM.value[0]
    counts = [int(w) for w in _WORKERS.value]
    per_worker = [int(t) for t in _THREADS.value]
    if len(per_worker) != len(counts):
        per_worker = per_worker[:1] * len(counts)
    cores = os.cpu_count() or 1
    args = (_SECONDS.value, _WARMUP.value)
    independent, each = independent_processes_steps_per_s(max(1, cores // 2), 2, *args,
                                                          algorithm)
    print(f"{max(1, cores // 2)} independent 2-thread processes: {independent:.0f} agent "
          f"steps/s in all ({', '.join(f'{r:.0f}' for r in each)})", flush=True)
    print(f"{'workers':>7} {'threads':>7} {'shards':>6} {'tf thr':>6} {'grad/msg':>8} "
          f"{'env-only/s':>10} {'1 process/s':>11} "
          f"{'shared/s':>8} {'shared/independent':>18} {'updates/s':>9} {'msgs/s':>6} {'MB in/s':>7} "
          f"{'holder busy':>11} {'wait ms/update':>14}", flush=True)
    rows = []
    for workers, threads in zip(counts, per_worker):
        total = workers * threads
        env_rate = env_only_steps_per_s(_GAME.value, total, *args,
                                        action_repeat=_ACTION_REPEAT.value)
        one = training_steps_per_s(_GAME.value, total, *args, _TF_SERVERS.value,
                                   _ACTION_REPEAT.value, algorithm)["train_steps_per_s"]
        for shards, tf_threads, per_message in itertools.product(
                [int(k) for k in _HOLDER_SHARDS.value], [int(n) for n in _TF_THREADS.value],
                [int(k) for k in _PER_MESSAGE.value]):
            run = training_steps_per_s(_GAME.value, threads, *args, _TF_SERVERS.value,
                                       _ACTION_REPEAT.value, algorithm, workers=workers,
                                       holder_shards=shards, tf_threads=tf_threads,
                                       gradients_per_message=per_message)
            shared = run.pop("train_steps_per_s")
            rows.append(dict(workers=workers, threads_per_worker=threads, holder_shards=shards,
                             tf_threads=tf_threads or max(1, cores // workers),
                             gradients_per_message=per_message,
                             env_only_steps_per_s=env_rate, one_process_steps_per_s=one,
                             shared_model_steps_per_s=shared,
                             shared_over_independent=shared / independent, **run))
            print(f"{workers:>7} {threads:>7} {shards:>6} {rows[-1]['tf_threads']:>6} "
                  f"{per_message:>8} "
                  f"{env_rate:>10.0f} {one:>11.0f} "
                  f"{shared:>8.0f} {shared / independent:>18.2f} "
                  f"{run['holder_updates_per_s']:>9.0f} {run['holder_messages_per_s']:>6.0f} "
                  f"{run['holder_mb_in_per_s']:>7.0f} "
                  f"{100 * run['holder_busy']:>10.0f}% {run['worker_wait_ms_per_update']:>14.1f}",
                  flush=True)
    return dict(algorithm=algorithm, independent_processes=max(1, cores // 2),
                independent_steps_per_s=independent, independent_each=each, rows=rows)


def _axes():
    """A new (figure, axes) drawn off-screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4))


def _save(fig, ax, path, title):
    """Zero-based y axis, title and legend; writes `path` and closes the figure."""
    import matplotlib.pyplot as plt

    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_workers(result, path, title):
    rows = result["rows"]
    x = list(range(len(rows)))
    fig, ax = _axes()
    ax.plot(x, [r["shared_model_steps_per_s"] for r in rows], "s-",
            label="shared model, W worker processes x T threads (Ray)")
    ax.plot(x, [r["one_process_steps_per_s"] for r in rows], "o-",
            label="one process, W x T threads")
    ax.axhline(result["independent_steps_per_s"], color="gray", ls="--", lw=1,
               label=f"{result['independent_processes']} independent 2-thread processes, summed")
    ax.set_xticks(x, [f"{r['workers']} x {r['threads_per_worker']}"
                      + (f"\n{r['holder_shards']} shards" if r.get("holder_shards", 1) > 1 else "")
                      + (f"\n{r['tf_threads']} TF thr." if len(_TF_THREADS.value) > 1 else "")
                      + (f"\n{r['gradients_per_message']} grad./msg"
                         if len(_PER_MESSAGE.value) > 1 else "")
                      for r in rows], fontsize=7)
    ax.set_xlabel("W x T (holder shards)")
    ax.set_ylabel(f"agent steps / s ({result['algorithm']})")
    _save(fig, ax, path, title)


def _plot(rows, path, title, action_repeat=4):
    threads = sorted({r["threads"] for r in rows})
    env_rates = {r["threads"]: r["env_only_steps_per_s"] for r in rows}
    fig, ax = _axes()
    ax.plot(threads, [env_rates[t] for t in threads], "o-", label="env only (random actions)")
    for algorithm in dict.fromkeys(r["algorithm"] for r in rows):
        mine = [r for r in rows if r["algorithm"] == algorithm]
        ax.plot([r["threads"] for r in mine], [r["train_steps_per_s"] for r in mine], "s-",
                label=f"training, {algorithm}")
    ax.axhline(315, color="gray", ls="--", lw=1, label="blog: i7-3770, 4 cores (315)")
    ax.axhline(540, color="gray", ls=":", lw=1, label="blog: GTX 980 Ti (540)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(threads, [str(t) for t in threads])
    ax.set_xlabel("threads")
    ax.set_ylabel(f"agent steps / s ({action_repeat} emulator frames each)")
    _save(fig, ax, path, title)


def _train_settings():
    """(base TrainConfig or None, game, action repeat, algorithms) of the thread table: from
    --train_flagfile when given, else the bench's own flags."""
    path = _TRAIN_FLAGFILE.value
    if not path:
        return None, _GAME.value, _ACTION_REPEAT.value, _ALGORITHM.value
    from async_deeprl import settings
    from async_deeprl.config import TrainConfig

    given = [f"--{name}" for name in ("game", "action_repeat", "algorithm")
             if flags.FLAGS[name].present]
    if given:
        raise app.UsageError(f"{', '.join(given)} and --train_flagfile: the flagfile sets them; "
                             "give one or the other")
    try:
        base = settings.from_flagfile(TrainConfig, path)
    except flags.Error as e:
        raise app.UsageError(f"--train_flagfile {path}: {e}") from None
    return base, base.game, base.action_repeat, [base.algorithm]


def main(argv):
    del argv
    tf_logs.import_quietly()
    if _ONE_JSON.value:
        print(json.dumps(training_steps_per_s(
            _GAME.value, int(_THREADS.value[0]), _SECONDS.value, _WARMUP.value, _TF_SERVERS.value,
            _ACTION_REPEAT.value, _ALGORITHM.value[0])), flush=True)
        return
    machine = dict(cpu=cpu_name(), cores=os.cpu_count(), python=platform.python_version())
    if _WORKERS.value:
        if _TRAIN_FLAGFILE.value:
            raise app.UsageError("--train_flagfile is for the thread table; drop it or --workers")
        result = _workers_bench()
        result.update(game=_GAME.value, seconds=_SECONDS.value, machine=machine,
                      action_repeat=_ACTION_REPEAT.value, date=time.strftime("%Y-%m-%d"))
        if _OUT.value:
            os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
            with open(_OUT.value + ".json", "w") as f:
                json.dump(result, f, indent=2)
            _plot_workers(result, _OUT.value + ".png",
                          f"{_GAME.value}, {machine['cores']} cores of {machine['cpu']}")
        return
    base, game, action_repeat, algorithms = _train_settings()
    rows = []
    header = (f"{'algorithm':>14} {'threads':>7} {'env-only/s':>10} {'train/s':>8} {'ratio':>6} {'env ms':>7} "
              f"{'TF wait ms':>10} {'other ms':>8} {'server busy':>11} {'batch':>6}")
    print(header, flush=True)
    for threads in (int(t) for t in _THREADS.value):
        env_kwargs = base.env_kwargs() if base is not None else dict(action_repeat=action_repeat)
        env_rate = env_only_steps_per_s(game, threads, _SECONDS.value, _WARMUP.value,
                                        **env_kwargs)
        for algorithm in algorithms:
            train = training_steps_per_s(game, threads, _SECONDS.value, _WARMUP.value,
                                         _TF_SERVERS.value, action_repeat, algorithm,
                                         base=base)
            row = dict(algorithm=algorithm, threads=threads, env_only_steps_per_s=env_rate,
                       **train, ratio=train["train_steps_per_s"] / env_rate)
            rows.append(row)
            busy = "-" if row["tf_server_busy"] is None else f"{100 * row['tf_server_busy']:.0f}%"
            batch = "-" if row["requests_per_call"] is None else f"{row['requests_per_call']:.1f}"
            print(f"{algorithm:>14} {threads:>7} {env_rate:>10.0f} {row['train_steps_per_s']:>8.0f} "
                  f"{row['ratio']:>6.2f} {row['env_ms_per_step']:>7.2f} "
                  f"{row['tf_wait_ms_per_step']:>10.2f} {row['other_ms_per_step']:>8.2f} "
                  f"{busy:>11} {batch:>6}", flush=True)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_rss_mb:.0f} MB on {machine['cores']} cores of {machine['cpu']}; "
          "ms columns are a learner thread's time per agent step", flush=True)
    if _OUT.value:
        os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
        result = dict(game=game, seconds=_SECONDS.value, tf_servers=_TF_SERVERS.value,
                      train_flagfile=_TRAIN_FLAGFILE.value or None,
                      action_repeat=action_repeat,
                      rows=rows, peak_rss_mb=peak_rss_mb, machine=machine,
                      date=time.strftime("%Y-%m-%d"))
        with open(_OUT.value + ".json", "w") as f:
            json.dump(result, f, indent=2)
        _plot(rows, _OUT.value + ".png",
              f"{game}, {machine['cores']} cores of {machine['cpu']}", action_repeat)


if __name__ == "__main__":
    app.run(main)
