"""How a run's learner threads execute: the interface `runner.Trainer` drives, and what both
implementations share (the agent build, its seeds, the learning rate, the restore).

Two implementations: `threads_backend.ThreadBackend` (learner threads in this process) and
`distributed.backend.RayBackend` (`--workers` processes on Ray); `training.make_trainer` picks
one. The Trainer owns everything else of a run: the logdir, logs, test games, signals and
the order "checkpoint, then the log rows it covers".
"""

import abc

import numpy as np

from async_deeprl import agents, schedules
from async_deeprl.config import ConfigError


class NumericsError(RuntimeError):
    """Training produced non-finite updates again and again; the message is one line."""


class Backend(abc.ABC):
    """What `runner.Trainer` calls on the part of a run that plays and learns."""

    agent = None  # this process's agent: log columns, console values, test games' policy
    counter = None  # `.value`: the global agent step, read at any time

    @abc.abstractmethod
    def start(self, first_env, resume):
        """Builds the learners (taking `first_env`, the run's checked first environment);
        restores the latest checkpoint if `resume`. Returns (start step, lines to print)."""

    @abc.abstractmethod
    def describe(self):
        """The learners in words, for the run's first line (e.g. '8 threads')."""

    @abc.abstractmethod
    def loops(self):
        """The callables the Trainer runs, one thread each, until the run is done or `stop`."""

    @abc.abstractmethod
    def open(self):
        """Called once before the loops start (e.g. the dispatcher's server threads)."""

    @abc.abstractmethod
    def shut(self):
        """Called once after every loop has returned."""

    @abc.abstractmethod
    def before_test(self):
        """Makes `agent` hold the newest shared weights before a test's games."""

    @abc.abstractmethod
    def save_checkpoint(self):
        """Writes a checkpoint of the run as it stands; returns (path, T, emulator frames)."""

    @abc.abstractmethod
    def drain_stats(self, names):
        """The interval's statistics (`metrics.IntervalStats.drain`), and a fresh interval."""

    @abc.abstractmethod
    def emulator_frames(self):
        """Emulator frames played by the learners, this run and the runs it resumes."""

    @abc.abstractmethod
    def timing(self):
        """(global step, summed [env, TF wait] seconds of the learner threads), for benchmarks."""

    @abc.abstractmethod
    def close(self, failure):
        """Releases environments and processes; `failure`: the error stopping the run, if any.
        Returns the first close error to raise (None if none)."""

    @abc.abstractmethod
    def summary(self):
        """The backend's own entries of the run's summary dict."""

    def explain(self, error):
        """`error` as the user should read it (e.g. with what is kept); by default unchanged."""
        return error


def build_agent(config, num_actions):
    """The agent of `config.algorithm` (weights seeded by `config.seed` when set)."""
    if config.seed is not None:
        import keras  # Seeds the weight initialisers (Python, NumPy and TF global seeds).

        keras.utils.set_random_seed(config.seed)
    return agents.get(config.algorithm)(num_actions, config.input_shape(), config,
                                        xla=config.xla)


def learning_rate(config, step):
    """The learning rate of an update at global step `step` (annealed for rmsprop)."""
    return schedules.learning_rate_at(step, config.lr, config.total_frames,
                                      anneal=config.optimizer == "rmsprop")


def env_seed(seed, thread, total_threads, start_step=0):
    """The seed of learner thread `thread`'s environment in a run seeded by `seed` (None:
    unseeded) that starts at global step `start_step`: seeded streams continue differently
    after a resume (or a restarted worker) instead of replaying the start."""
    if seed is None:
        return None
    return seed + 1 + thread + total_threads * start_step


def thread_seeds(seed, total_threads, start_step):
    """One SeedSequence per learner thread of the run, then one for the tester; they differ
    for every `start_step`, as `env_seed` does."""
    entropy = None if seed is None else [seed, start_step]
    return np.random.SeedSequence(entropy).spawn(total_threads + 1)


def restore(checkpointer, config):
    """Restores the latest checkpoint; returns its (T, emulator frames)."""
    checkpointer.restore_latest()
    step, frames = int(checkpointer.step.numpy()), int(checkpointer.frames.numpy())
    if config.total_frames <= step:
        raise ConfigError(
            f"--total_frames {config.total_frames} is not above the step {step} "
            f"this logdir resumes from; raise --total_frames or choose another --logdir")
    return step, frames
