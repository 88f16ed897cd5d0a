"""Throughput benchmark: env-only and training agent steps/s, side by side in one run.

    python -m async_deeprl.bench --threads 1,2,4,8,16 --seconds 30

For each thread count it measures, on the same game and env code:
  env-only: every thread steps its own environment with random actions;
  training: the real trainer (acting, bootstrapping, asynchronous updates).
The ratio training / env-only says how much of the environment's speed the
learner keeps. Results are printed as a table and written as JSON.
"""

import json
import os
import platform
import resource
import tempfile
import threading
import time

import numpy as np
from absl import app, flags

_GAME = flags.DEFINE_string("game", "SpaceInvaders-v0", "Gymnasium id to benchmark.")
_THREADS = flags.DEFINE_list("threads", ["8"], "Comma-separated thread counts.")
_SECONDS = flags.DEFINE_float("seconds", 30.0, "Measured seconds per phase (after warm-up).")
_WARMUP = flags.DEFINE_float("warmup", 5.0, "Seconds run before measuring each phase.")
_OUT = flags.DEFINE_string("out", "assets/bench.json", "Where the JSON results go ('' for none).")


def env_only_steps_per_s(game, threads, seconds, warmup):
    """Agent steps/s of `threads` threads, each stepping its own env with random actions."""
    from async_deeprl import environment

    envs = [environment.make_env(game, seed=i) for i in range(threads)]
    counts = [0] * threads
    stop = threading.Event()

    def work(i):
        env, rng = envs[i], np.random.default_rng(i)
        env.reset()
        while not stop.is_set():
            if env.step(int(rng.integers(env.num_actions))).game_over:
                env.reset()
            counts[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    time.sleep(warmup)
    start_count, start = sum(counts), time.time()
    time.sleep(seconds)
    rate = (sum(counts) - start_count) / (time.time() - start)
    stop.set()
    for w in workers:
        w.join()
    for env in envs:
        env.close()
    return rate


def training_steps_per_s(game, threads, seconds, warmup):
    """Global agent steps/s of the real trainer with `threads` learner threads."""
    from async_deeprl import runner
    from async_deeprl.config import TrainConfig

    with tempfile.TemporaryDirectory() as logdir:
        config = TrainConfig(game=game, logdir=logdir, threads=threads,
                             total_frames=10**12, log_interval=10**11, test_interval=0, seed=0)
        stop = threading.Event()
        trainer = runner.AsyncQTrainer(config, stop)
        worker = threading.Thread(target=trainer.run)
        worker.start()
        time.sleep(warmup)
        start_count, start = trainer.counter.value, time.time()
        time.sleep(seconds)
        rate = (trainer.counter.value - start_count) / (time.time() - start)
        stop.set()
        worker.join()
    return rate


def main(argv):
    del argv
    rows = []
    print(f"{'threads':>7} {'env-only/s':>11} {'train/s':>9} {'ratio':>6}", flush=True)
    for threads in (int(t) for t in _THREADS.value):
        env_rate = env_only_steps_per_s(_GAME.value, threads, _SECONDS.value, _WARMUP.value)
        train_rate = training_steps_per_s(_GAME.value, threads, _SECONDS.value, _WARMUP.value)
        rows.append(dict(threads=threads, env_only_steps_per_s=env_rate,
                         train_steps_per_s=train_rate, ratio=train_rate / env_rate))
        print(f"{threads:>7} {env_rate:>11.0f} {train_rate:>9.0f} {train_rate / env_rate:>6.2f}",
              flush=True)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = dict(game=_GAME.value, seconds=_SECONDS.value, rows=rows, peak_rss_mb=peak_rss_mb,
                  machine=dict(cpus=os.cpu_count(), processor=platform.processor() or platform.machine(),
                               python=platform.python_version()))
    print(f"peak RSS {peak_rss_mb:.0f} MB; agent steps (one action of one thread), "
          "each 4 emulator frames", flush=True)
    if _OUT.value:
        os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
        with open(_OUT.value, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    app.run(main)
