"""One asynchronous training run of any agent: threads, step counter, target syncs, logs, tests.

`Trainer(config).run()` is the whole run. Each learner thread owns one environment and
one player of the agent (`config.algorithm`): the player picks actions, keeps
the thread's segment and says when an update is due; the runner steps the
environment, claims global steps, syncs the target network every
`update_interval` steps, and sends each request through the dispatcher. The
main thread writes log rows and checkpoints; a tester thread plays test games
with the agent's test policy on its own environment. Nothing here depends on
which agent runs. `training.train(config)` runs it, or with `--workers` the subclass in
`distributed.py`, whose learner loops run in worker processes on Ray.
"""

import contextlib
import dataclasses
import signal
import threading
import time

import numpy as np

from async_deeprl import agents, checkpointing, dispatch, environment, evaluation, metrics
from async_deeprl import faults, learner, progress, schedules
from async_deeprl.config import ConfigError
from async_deeprl.counter import StepCounter
from async_deeprl.logdir import prepare_logdir

TRAIN_HEAD = ("emulator_frames", "wall_time_s", "episodes", "score_mean", "score_max",
              "episode_length_mean")
TRAIN_TAIL = ("nonfinite_losses", "agent_steps_per_s", "emulator_frames_per_s")
TEST_COLUMNS = ("emulator_frames", "wall_time_s", "test_score_mean", "test_score_std",
                "test_score_min", "test_score_max", "test_length_mean", "test_scores")


class NumericsError(RuntimeError):
    """Training produced non-finite updates again and again; the message is one line."""


def say(message):
    print(message, flush=True)


@contextlib.contextmanager
def _stop_on_signals(stop_event):
    """SIGINT and SIGTERM set `stop_event` instead of killing the process (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        say(f"{signal.Signals(signum).name} received: stopping threads and saving a checkpoint")
        stop_event.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def build_agent(config, num_actions):
    """The agent of `config.algorithm` (weights seeded by `config.seed` when set)."""
    if config.seed is not None:
        import keras  # Seeds the weight initialisers (Python, NumPy and TF global seeds).

        keras.utils.set_random_seed(config.seed)
    return agents.get(config.algorithm)(num_actions, config.input_shape(), config)


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


class Trainer:
    """One run of `config.algorithm` (see module docstring)."""

    def __init__(self, config, stop_event=None, show_progress=None):
        """`show_progress`: draw the live bar (None: when stdout is a terminal)."""
        config.validate()
        self.config = config
        self._show_progress = show_progress
        self._stop = stop_event or threading.Event()
        self._errors = []
        self._lock = threading.Lock()
        self._pending_test_rows = []  # (step, row) of tests not yet covered by a checkpoint
        self.stats = metrics.IntervalStats()
        self.target_syncs = 0  # this run's target syncs, one per update_interval crossed
        # Validate the game before anything is written to the logdir.
        self._envs = [environment.make_env(config.game, seed=self.env_seed(0),
                                           **config.env_kwargs())]
        resume = prepare_logdir(config, self._envs[0])
        start_step = self._start(resume)
        self._test_env_seed = None if config.seed is None else config.seed + 10_000 + start_step
        self._open_logs(start_step)

    def env_seed(self, thread, start_step=0):
        return env_seed(self.config.seed, thread, self.total_threads, start_step)

    @property
    def learner_loops(self):
        """How many `_learner_loop`s run() starts (here one per learner thread)."""
        return self.config.threads

    def describe_learners(self):
        return f"{self.config.threads} threads"

    @property
    def total_threads(self):
        """Learner threads of the whole run."""
        return self.config.threads

    def thread_seeds(self, start_step):
        return thread_seeds(self.config.seed, self.total_threads, start_step)

    def _start(self, resume):
        """Builds the learner threads' side of the run; returns the global step it starts at."""
        config = self.config
        self._envs += [environment.make_env(config.game, seed=self.env_seed(i),
                                            **config.env_kwargs())
                       for i in range(1, config.threads)]
        start_step, self._frames_base = self._build_agent(resume)
        if start_step:
            for i, env in enumerate(self._envs):
                env.set_seed(self.env_seed(i, start_step))
        self._seeds = self.thread_seeds(start_step)
        self.counter = StepCounter(start_step)
        self.thread_times = [[0.0, 0.0] for _ in range(config.threads)]  # [env, waiting for TF] s
        self.dispatcher = dispatch.make_dispatcher(
            dispatch.local_step(self.agent, lambda: self._learning_rate(self.counter.value)),
            config.tf_servers)
        self._learner = learner.LearnerLoop(
            config, self.counter, self.dispatcher, self.stats, self._stop, self._sync_target_at,
            learner.FiniteCheck(config.max_nonfinite_updates, self.counter, self._lock,
                                NumericsError))
        return start_step

    def _build_agent(self, resume):
        """Builds the agent, compiles it, restores the latest checkpoint; returns (T, frames)."""
        cfg = self.config
        self.agent = build_agent(cfg, self._envs[0].num_actions)
        self.checkpointer = checkpointing.Checkpointer(cfg.logdir, self.agent.checkpoint_items())
        # Compile before restoring: the warm-up touches the optimizer's slots.
        self.agent.warm_up(sorted({dispatch.batch_size_for(n) for n in range(1, cfg.threads + 1)}))
        step, frames = 0, 0
        if resume:
            step, frames = restore(self.checkpointer, cfg)
            say(f"resuming from {self.checkpointer.latest} at T={step}")
        # Printed by run() after its start line (e.g. each thread's eps_min).
        self._thread_lines = self.agent.prepare_threads(
            cfg.threads, np.random.default_rng(np.random.SeedSequence(cfg.seed)), resume)
        return step, frames

    def _open_logs(self, start_step):
        cfg, agent = self.config, self.agent
        self.train_columns = (TRAIN_HEAD + agent.log_columns + ("learning_rate",)
                              + agent.update_stats + TRAIN_TAIL)
        for name in ("train", "test"):  # Refuse a damaged log before either is rewritten.
            metrics.check_log(cfg.logdir, name)
        self.train_log = metrics.MetricsWriter(cfg.logdir, "train", self.train_columns, start_step)
        self.test_log = metrics.MetricsWriter(cfg.logdir, "test", TEST_COLUMNS, start_step)
        self.train_log.write_text("hyperparameters", "\n".join(
            f"    {k} = {v}" for k, v in dataclasses.asdict(cfg).items()))

    def _learning_rate(self, step):
        return learning_rate(self.config, step)

    def emulator_frames(self):
        """Emulator frames played by the learner envs, this run and the runs it resumes."""
        return self._frames_base + sum(env.frame_number for env in self._envs)

    # Threads --------------------------------------------------------------
    def _guarded(self, body, *args):
        try:
            body(*args)
        except BaseException as e:  # Reported by the main thread after join.
            self._errors.append(e)
            self._stop.set()

    def _learner_loop(self, index):
        player = self.agent.player(index, np.random.default_rng(self._seeds[index]))
        self._learner.run(self._envs[index], player, self.agent.update_stats,
                          self.thread_times[index])

    def _sync_target_at(self, step):
        """Syncs the target network when `step` is a multiple of `update_interval`."""
        if self.agent.uses_target_network and step % self.config.update_interval == 0:
            self.agent.sync_target()
            with self._lock:
                self.target_syncs += 1

    def _tester_loop(self):
        cfg = self.config
        env = environment.make_env(cfg.game, seed=self._test_env_seed, **cfg.env_kwargs())
        rng = np.random.default_rng(self._seeds[-1])
        policy = self.agent.test_policy(cfg.test_epsilon)
        next_test = (self.counter.value // cfg.test_interval + 1) * cfg.test_interval
        while not self._stop.is_set():
            if self.counter.value < next_test:
                if self._learners_done():
                    break
                self._stop.wait(0.2)
                continue
            step, start = self.counter.value, time.time()
            self._before_test()
            results = evaluation.play_games(env, policy, cfg.test_games, rng, cfg.test_max_steps,
                                            stop=self._stop)
            if self._stop.is_set():
                break  # Games cut short by the stop are not a test result.
            summary = evaluation.summarize(results)
            row = dict(
                emulator_frames=self.emulator_frames(), wall_time_s=time.time() - self._start_time,
                test_score_mean=summary["mean"], test_score_std=summary["std"],
                test_score_min=summary["min"], test_score_max=summary["max"],
                test_length_mean=float(np.mean([r["steps"] for r in results])),
                test_scores=" ".join(f"{r['score']:g}" for r in results))
            with self._lock:  # Written by the main thread after the next checkpoint.
                self._pending_test_rows.append((step, row))
            say(f"test at T={step}: mean {summary['mean']:.1f} over {cfg.test_games} games "
                 f"({time.time() - start:.0f} s)")
            next_test = (self.counter.value // cfg.test_interval + 1) * cfg.test_interval
        env.close()

    def _before_test(self):
        """Called before each test's games (worker processes: fetch the shared weights)."""

    def _learners_done(self):
        return not any(t.is_alive() for t in self._learner_threads)

    def _save_checkpoint(self):
        """Saves a checkpoint of the run as it stands; returns (its path, T, emulator frames)."""
        step, frames = self.counter.value, self.emulator_frames()
        return self.checkpointer.save(step, frames), step, frames

    def _drain_stats(self, names):
        """The interval's statistics (`metrics.IntervalStats.drain`), and a fresh interval."""
        return self.stats.drain(names)

    # Main thread ----------------------------------------------------------
    def _checkpoint_and_log(self, last):
        """Saves a checkpoint, then writes the rows it covers.

        Rows are written only after the checkpoint that covers their step is
        complete, so a run killed at any moment and resumed from its latest
        checkpoint never logs a step twice; at most the rows of one interval
        are lost.
        """
        now = time.time()
        path, step, frames = self._save_checkpoint()
        with self._lock:
            tests, self._pending_test_rows = self._pending_test_rows, []
        for test_step, row in tests:
            self.test_log.write(test_step, row)
        if step == last["step"]:
            return path
        elapsed = max(now - last["time"], 1e-9)
        sps = (step - last["step"]) / elapsed
        row = self._drain_stats(self.agent.log_columns + self.agent.update_stats)
        row.update(self.agent.log_values(step))
        row.update(emulator_frames=frames, wall_time_s=now - self._start_time,
                   learning_rate=self._learning_rate(step), agent_steps_per_s=sps,
                   emulator_frames_per_s=(frames - last["frames"]) / elapsed)
        self.train_log.write(step, row)
        eta = (self.config.total_frames - step) / sps if sps > 0 else float("inf")
        say(f"{time.strftime('%H:%M:%S')} T={step} frames={frames} "
             f"score={row['score_mean']:.1f} ({row['episodes']} games) {self.agent.console(row)} "
             f"lr={row['learning_rate']:.2e} steps/s={sps:.0f} eta={eta / 3600:.1f}h")
        last.update(time=now, step=step, frames=frames)
        return path

    def _close(self, failure):
        """Closes the logs and environments, all of them; the first close that fails is raised
        afterwards unless `failure` (an earlier write fault) is already being raised."""
        first = None
        for log in (self.train_log, self.test_log):
            try:
                log.close()
            except faults.WriteError as e:
                first = first or e
        for env in self._envs:
            env.close()
        if first is not None and failure is None:
            raise first

    def timing(self):
        """(global step, summed [env, TF wait] seconds of the learner threads), for benchmarks."""
        return self.counter.value, np.array(self.thread_times).sum(axis=0)

    def run(self):
        """Trains until `total_frames` global agent steps or a stop; returns a summary dict."""
        cfg = self.config
        self._start_time = time.time()
        start_step = self.counter.value
        last = dict(time=self._start_time, step=start_step, frames=self.emulator_frames())
        self._learner_threads = [
            threading.Thread(target=self._guarded, args=(self._learner_loop, i),
                             name=f"learner-{i}", daemon=True) for i in range(self.learner_loops)]
        workers = list(self._learner_threads)
        if cfg.test_interval > 0:
            workers.append(threading.Thread(target=self._guarded, args=(self._tester_loop,),
                                            name="tester", daemon=True))
        next_log = (start_step // cfg.log_interval + 1) * cfg.log_interval
        say(f"training {cfg.algorithm} on {cfg.game}: {self.describe_learners()} from "
             f"T={start_step} to {cfg.total_frames}, logdir {cfg.logdir}")
        for line in self._thread_lines:
            say(line)
        failure = None  # a checkpoint or log that could not be written (disk full, ...)
        with _stop_on_signals(self._stop):
            self.dispatcher.start()
            for t in workers:
                t.start()
            try:
                with progress.bar(cfg.total_frames, start_step, self._show_progress) as shown:
                    while not self._learners_done():
                        self._stop.wait(0.1)
                        shown.update(self.counter.value)
                        if self.counter.value >= next_log:
                            self._checkpoint_and_log(last)
                            next_log = ((self.counter.value // cfg.log_interval + 1)
                                        * cfg.log_interval)
            except (faults.WriteError, faults.ProcessLost) as e:
                failure = e
            finally:  # Every thread stops before the process may exit.
                self._stop.set()
                for t in workers:
                    t.join()
                self.dispatcher.close()
        if failure is None:  # A thread that lost a process the run needs: no last checkpoint.
            failure = next((e for e in self._errors if isinstance(e, faults.ProcessLost)), None)
        try:
            if failure is None:
                path = self._checkpoint_and_log(last)
        except faults.WriteError as e:
            failure = e
        self._close(failure)
        if failure is not None:
            for error in self._errors:  # Not lost behind the failure.
                if error is not failure and not isinstance(error, faults.ProcessLost):
                    say(f"a learner thread had failed too: {type(error).__name__}: {error}")
            raise failure
        if self._errors:
            raise self._errors[0]
        elapsed = time.time() - self._start_time
        steps = self.counter.value - start_step
        say(f"saved {path}; T={self.counter.value}, {steps / elapsed:.0f} agent steps/s")
        return dict(step=self.counter.value, emulator_frames=self.emulator_frames(),
                    checkpoint=path, seconds=elapsed, agent_steps_per_s=steps / elapsed,
                    target_syncs=self.target_syncs)
