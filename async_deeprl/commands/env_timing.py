"""Timing helpers shared by the benchmark scripts (no flags here, so tests can import it)."""

import platform
import threading
import time

import numpy as np


def cpu_name():
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def env_only_steps_per_s(game, threads, seconds, warmup, **env_kwargs):
    """Agent steps/s of `threads` threads, each stepping its own env with random actions.

    `env_kwargs` go to `environment.make_env` (e.g. `action_repeat=12`).
    """
    from async_deeprl import environment

    envs = [environment.make_env(game, seed=i, **env_kwargs) for i in range(threads)]
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


def mean_frames_per_step(env, steps=500, seed=0):
    """Emulator frames per agent step of `env` over `steps` random-action steps from a reset.

    The frames of the reset itself (its random no-ops) are not counted; those of
    later resets, after a game over, are.
    """
    rng = np.random.default_rng(seed)
    env.reset()
    start = env.frame_number
    for _ in range(steps):
        if env.step(int(rng.integers(env.num_actions))).game_over:
            env.reset()
    return (env.frame_number - start) / steps


def ceiling_steps_per_s(env_steps_per_s, act_s_per_step, learn_s_per_step):
    """Agent steps/s if env and TF shared the cores perfectly: 1 / (1/env + act + learn)."""
    return 1.0 / (1.0 / env_steps_per_s + act_s_per_step + learn_s_per_step)
