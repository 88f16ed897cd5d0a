"""One training run of any agent: logdir, logs, test games, signals and checkpoints, over a
backend that plays and learns (`backend.Backend`).

`Trainer(config).run()` is the whole run with learner threads in this process
(`threads_backend.ThreadBackend`); `training.train(config)` picks the backend, Ray worker
processes with `--workers`. The main thread writes log rows and checkpoints, each row only
after the checkpoint that covers it; a tester thread plays test games with the agent's test
policy on its own environment. Nothing here depends on which agent or backend runs.
"""

import contextlib
import dataclasses
import signal
import threading
import time

import numpy as np

from async_deeprl import backend, environment, evaluation, faults, metrics, progress
from async_deeprl.logdir import prepare_logdir

TRAIN_HEAD = ("emulator_frames", "wall_time_s", "episodes", "score_mean", "score_max",
              "episode_length_mean")
TRAIN_TAIL = ("nonfinite_losses", "agent_steps_per_s", "emulator_frames_per_s")
TEST_COLUMNS = ("emulator_frames", "wall_time_s", "test_score_mean", "test_score_std",
                "test_score_min", "test_score_max", "test_length_mean", "test_scores")


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


def _threads_backend(config, stop):
    from async_deeprl.threads_backend import ThreadBackend

    return ThreadBackend(config, stop)


class Trainer:
    """One run of `config.algorithm` over a backend (see the module docstring)."""

    def __init__(self, config, stop_event=None, show_progress=None, make_backend=None):
        """`show_progress`: draw the live bar (None: when stdout is a terminal);
        `make_backend(config, stop_event)`: the backend (None: learner threads here)."""
        config.validate()
        self.config = config
        self._show_progress = show_progress
        self._stop = stop_event or threading.Event()
        self._errors = []
        self._lock = threading.Lock()
        self._pending_test_rows = []  # (step, row) of tests not yet covered by a checkpoint
        self.backend = (make_backend or _threads_backend)(config, self._stop)
        # Validate the game before anything is written to the logdir.
        first_env = environment.make_env(
            config.game, seed=backend.env_seed(config.seed, 0, self.backend.total_threads),
            **config.env_kwargs())
        try:
            resume = prepare_logdir(config, first_env)
        except BaseException:
            first_env.close()
            raise
        try:
            start_step, self._thread_lines = self.backend.start(first_env, resume)
            self._open_logs(start_step)
        except BaseException as e:  # Nothing is left running: environments, Ray processes.
            self.backend.close(e)
            raise
        self._test_env_seed = None if config.seed is None else config.seed + 10_000 + start_step
        self._tester_seed = backend.thread_seeds(config.seed, self.backend.total_threads,
                                                 start_step)[-1]

    @property
    def agent(self):
        """This process's agent (the backend's)."""
        return self.backend.agent

    @property
    def counter(self):
        """The global step counter (`.value`)."""
        return self.backend.counter

    def timing(self):
        """(global step, summed [env, TF wait] seconds of the learner threads), for benchmarks."""
        return self.backend.timing()

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

    # Threads --------------------------------------------------------------
    def _guarded(self, body):
        try:
            body()
        except BaseException as e:  # Reported by the main thread after join.
            self._errors.append(e)
            self._stop.set()

    def _tester_loop(self):
        cfg = self.config
        env = environment.make_env(cfg.game, seed=self._test_env_seed, **cfg.env_kwargs())
        rng = np.random.default_rng(self._tester_seed)
        policy = self.agent.test_policy(cfg.test_epsilon)
        next_test = (self.counter.value // cfg.test_interval + 1) * cfg.test_interval
        while not self._stop.is_set():
            if self.counter.value < next_test:
                if self._learners_done():
                    break
                self._stop.wait(0.2)
                continue
            step, start = self.counter.value, time.time()
            self.backend.before_test()
            results = evaluation.play_games(env, policy, cfg.test_games, rng, cfg.test_max_steps,
                                            stop=self._stop)
            if self._stop.is_set():
                break  # Games cut short by the stop are not a test result.
            summary = evaluation.summarize(results)
            row = dict(
                emulator_frames=self.backend.emulator_frames(),
                wall_time_s=time.time() - self._start_time,
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

    def _learners_done(self):
        return not any(t.is_alive() for t in self._learner_threads)

    # Main thread ----------------------------------------------------------
    def _checkpoint_and_log(self, last):
        """Saves a checkpoint, then writes the rows it covers.

        Rows are written only after the checkpoint that covers their step is
        complete, so a run killed at any moment and resumed from its latest
        checkpoint never logs a step twice; at most the rows of one interval
        are lost.
        """
        now = time.time()
        path, step, frames = self.backend.save_checkpoint()
        with self._lock:
            tests, self._pending_test_rows = self._pending_test_rows, []
        for test_step, row in tests:
            self.test_log.write(test_step, row)
        if step == last["step"]:
            return path
        elapsed = max(now - last["time"], 1e-9)
        sps = (step - last["step"]) / elapsed
        row = self.backend.drain_stats(self.agent.log_columns + self.agent.update_stats)
        row.update(self.agent.log_values(step))
        row.update(emulator_frames=frames, wall_time_s=now - self._start_time,
                   learning_rate=backend.learning_rate(self.config, step),
                   agent_steps_per_s=sps,
                   emulator_frames_per_s=(frames - last["frames"]) / elapsed)
        self.train_log.write(step, row)
        eta = (self.config.total_frames - step) / sps if sps > 0 else float("inf")
        say(f"{time.strftime('%H:%M:%S')} T={step} frames={frames} "
            f"score={row['score_mean']:.1f} ({row['episodes']} games) {self.agent.console(row)} "
            f"lr={row['learning_rate']:.2e} steps/s={sps:.0f} eta={eta / 3600:.1f}h")
        last.update(time=now, step=step, frames=frames)
        return path

    def _close(self, failure):
        """Closes the logs and the backend, all of them; the first close that fails is raised
        afterwards unless `failure` (an earlier write fault) is already being raised."""
        first = None
        try:
            for log in (self.train_log, self.test_log):
                try:
                    log.close()
                except faults.WriteError as e:
                    first = first or e
        finally:
            first = self.backend.close(failure) or first
        if first is not None and failure is None:
            raise first

    def run(self):
        """Trains until `total_frames` global agent steps or a stop; returns a summary dict."""
        try:
            return self._run()
        except faults.ProcessLost as e:
            raise self.backend.explain(e) from None

    def _run(self):
        cfg = self.config
        self._start_time = time.time()
        start_step = self.counter.value
        last = dict(time=self._start_time, step=start_step, frames=self.backend.emulator_frames())
        self._learner_threads = [
            threading.Thread(target=self._guarded, args=(loop,), name=f"learner-{i}", daemon=True)
            for i, loop in enumerate(self.backend.loops())]
        threads = list(self._learner_threads)
        if cfg.test_interval > 0:
            threads.append(threading.Thread(target=self._guarded, args=(self._tester_loop,),
                                            name="tester", daemon=True))
        next_log = (start_step // cfg.log_interval + 1) * cfg.log_interval
        say(f"training {cfg.algorithm} on {cfg.game}: {self.backend.describe()} from "
            f"T={start_step} to {cfg.total_frames}, logdir {cfg.logdir}")
        for line in self._thread_lines:
            say(line)
        failure = None  # a checkpoint or log that could not be written (disk full, ...)
        with _stop_on_signals(self._stop):
            self.backend.open()
            for t in threads:
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
                for t in threads:
                    t.join()
                self.backend.shut()
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
        return dict(step=self.counter.value, emulator_frames=self.backend.emulator_frames(),
                    checkpoint=path, seconds=elapsed, agent_steps_per_s=steps / elapsed,
                    **self.backend.summary())
