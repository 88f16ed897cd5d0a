"""The asynchronous one-step Q-learning run: learner threads, target syncs, logs, tests, checkpoints.

`train(config)` is the whole run. Each learner thread owns one environment and
one final epsilon, acts epsilon-greedily with the shared online network, and
applies its own asynchronous update of the shared weights every `tmax`
transitions (or at a terminal). The main thread writes log rows and
checkpoints; a tester thread plays greedy test games on its own environment.
"""

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import threading
import time

import numpy as np

from async_deeprl import checkpointing, dispatch, environment, evaluation, metrics, schedules
from async_deeprl.config import ConfigError
from async_deeprl.counter import StepCounter
from async_deeprl.q_learning import QLearner

ALGORITHM = "one_step_q"
TRAIN_COLUMNS = ("emulator_frames", "wall_time_s", "episodes", "score_mean", "score_max",
                 "episode_length_mean", "avg_max_q", "epsilon_mean", "learning_rate", "loss",
                 "nonfinite_losses", "agent_steps_per_s", "emulator_frames_per_s")
TEST_COLUMNS = ("emulator_frames", "wall_time_s", "test_score_mean", "test_score_std",
                "test_score_min", "test_score_max", "test_length_mean", "test_scores")


class NumericsError(RuntimeError):
    """Training produced non-finite updates again and again; the message is one line."""


def _say(message):
    print(message, flush=True)


@contextlib.contextmanager
def _stop_on_signals(stop_event):
    """SIGINT and SIGTERM set `stop_event` instead of killing the process (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _say(f"{signal.Signals(signum).name} received: stopping threads and saving a checkpoint")
        stop_event.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _run_description(config, env):
    return dict(algorithm=ALGORITHM, game=config.game, num_actions=env.num_actions,
                action_names=env.action_names, input_shape=[84, 84, config.memory_len],
                env=config.env_kwargs(), config=dataclasses.asdict(config))


def prepare_logdir(config, env):
    """Creates or checks `config.logdir`; returns True if it holds a run to resume.

    A logdir that holds a run of another game is refused unless
    `config.overwrite`, in which case the old run is moved aside, not deleted.
    """
    logdir = config.logdir
    try:
        os.makedirs(logdir, exist_ok=True)
        probe = os.path.join(logdir, ".write_test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise ConfigError(f"--logdir {logdir!r} is not writable ({e.strerror}); "
                          "choose another --logdir") from None
    previous = checkpointing.read_run_config(logdir)
    if previous is not None:
        if previous.get("game") != config.game or previous.get("num_actions") != env.num_actions:
            if not config.overwrite:
                raise ConfigError(
                    f"--logdir {logdir!r} holds a run of {previous.get('game')!r}, not "
                    f"{config.game!r}; pass --overwrite to move it aside or choose another --logdir")
            aside = f"{logdir.rstrip(os.sep)}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
            try:
                shutil.move(logdir, aside)
            except OSError as e:
                raise ConfigError(f"--logdir {logdir!r} could not be moved to {aside!r} "
                                  f"({e.strerror}); move it yourself or choose another --logdir") from None
            _say(f"moved the previous run in {logdir} to {aside}")
            os.makedirs(logdir)
            previous = None
    if previous is not None:
        # JSON round trip so that tuples and lists, ints and floats compare alike.
        wanted = json.loads(json.dumps(config.env_kwargs()))
        changed = sorted(k for k in set(wanted) | set(previous.get("env", {}))
                         if previous.get("env", {}).get(k) != wanted.get(k))
        if changed:
            was = ", ".join(f"--{k}={previous.get('env', {}).get(k)}" for k in changed)
            raise ConfigError(
                f"--logdir {logdir!r} was trained with {was}; resume with the same values "
                "(the network was trained on that input) or choose another --logdir")
    if previous is None:
        checkpointing.write_run_config(logdir, _run_description(config, env))
    return checkpointing.latest_checkpoint(logdir) is not None


class AsyncQTrainer:
    """One run of asynchronous one-step Q-learning (see module docstring)."""

    def __init__(self, config, stop_event=None):
        config.validate()
        self.config = config
        self._stop = stop_event or threading.Event()
        self._errors = []
        env_seed = lambda i: None if config.seed is None else config.seed + 1 + i
        # Validate the game before anything is written to the logdir.
        self._envs = [environment.make_env(config.game, seed=env_seed(0), **config.env_kwargs())]
        resume = prepare_logdir(config, self._envs[0])
        self._envs += [environment.make_env(config.game, seed=env_seed(i), **config.env_kwargs())
                       for i in range(1, config.threads)]
        env0 = self._envs[0]
        if config.seed is not None:
            import keras  # Seeds the weight initialisers (Python, NumPy and TF global seeds).

            keras.utils.set_random_seed(config.seed)
        self.learner = QLearner(env0.num_actions, (84, 84, config.memory_len), config.optimizer,
                                config.lr, config.grad_clip_norm)
        self.checkpointer = checkpointing.Checkpointer(config.logdir, self.learner.checkpoint_items())
        # Compile before restoring: the warm-up touches the optimizer's slots.
        self.learner.warm_up(config.tmax, sorted({dispatch.batch_size_for(n)
                                                  for n in range(1, config.threads + 1)}))
        start_step, self._frames_base = 0, 0
        self.eps_mins = schedules.sample_eps_mins(
            config.threads, np.random.default_rng(np.random.SeedSequence(config.seed)))
        if resume:
            self.checkpointer.restore_latest()
            start_step = int(self.checkpointer.step.numpy())
            self._frames_base = int(self.checkpointer.frames.numpy())
            saved = [float(e) for e in self.checkpointer.eps_mins.numpy()]
            self.eps_mins = (saved + self.eps_mins)[:config.threads]
            if config.total_frames <= start_step:
                raise ConfigError(
                    f"--total_frames {config.total_frames} is not above the step {start_step} "
                    f"this logdir resumes from; raise --total_frames or choose another --logdir")
            _say(f"resuming from {self.checkpointer.latest} at T={start_step}")
        # Seeded streams continue differently after a resume instead of replaying the start.
        if config.seed is not None and start_step:
            for i, env in enumerate(self._envs):
                env.set_seed(config.seed + 1 + i + config.threads * start_step)
        entropy = None if config.seed is None else [config.seed, start_step]
        self._seeds = np.random.SeedSequence(entropy).spawn(config.threads + 1)
        self._test_env_seed = None if config.seed is None else config.seed + 10_000 + start_step
        self.counter = StepCounter(start_step)
        self.thread_times = [[0.0, 0.0] for _ in range(config.threads)]  # [env, waiting for TF] s
        self.target_syncs = 0  # this run's target syncs, one per update_interval crossed
        self._nonfinite_streak = 0  # consecutive updates skipped for a non-finite loss
        self._pending_test_rows = []  # (step, row) of tests not yet covered by a checkpoint
        self._sync_lock = threading.Lock()
        lr_fn = lambda: self._learning_rate(self.counter.value)
        if config.tf_servers > 0:
            self._dispatcher = dispatch.BatchingDispatcher(self.learner, lr_fn, config.tmax,
                                                           config.tf_servers)
        else:
            self._dispatcher = dispatch.DirectDispatcher(self.learner, lr_fn, config.tmax)
        self.stats = metrics.IntervalStats()
        for name in ("train", "test"):  # Refuse a damaged log before either is rewritten.
            metrics.check_log(config.logdir, name)
        self.train_log = metrics.MetricsWriter(config.logdir, "train", TRAIN_COLUMNS, start_step)
        self.test_log = metrics.MetricsWriter(config.logdir, "test", TEST_COLUMNS, start_step)
        self.train_log.write_text("hyperparameters", "\n".join(
            f"    {k} = {v}" for k, v in dataclasses.asdict(config).items()))
        for i, eps_min in enumerate(self.eps_mins):
            _say(f"thread {i}: eps_min {eps_min}")

    # Schedules ------------------------------------------------------------
    def _epsilon(self, step, eps_min):
        return schedules.epsilon_at(step, self.config.eps_start, eps_min, self.config.eps_steps)

    def _learning_rate(self, step):
        return schedules.learning_rate_at(step, self.config.lr, self.config.total_frames,
                                          anneal=self.config.optimizer == "rmsprop")

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
        cfg, env, counter, dispatcher = self.config, self._envs[index], self.counter, self._dispatcher
        rng = np.random.default_rng(self._seeds[index])
        eps_min, gamma = self.eps_mins[index], float(cfg.gamma)
        times = self.thread_times[index]  # seconds spent in the env and waiting for TF
        clock = time.perf_counter
        segment, q_sum = dispatch.Segment(), 0.0
        state = env.reset()
        q, _, _ = dispatcher.request(state, None)
        while not self._stop.is_set():
            if rng.random() < self._epsilon(counter.value, eps_min):
                action = int(rng.integers(env.num_actions))
            else:
                action = int(np.argmax(q))
            step = counter.claim(cfg.total_frames)
            if step is None:
                break
            q_sum += float(q.max())
            t0 = clock()
            result = env.step(action)
            if step % cfg.update_interval == 0:
                self.learner.sync_target()
                with self._sync_lock:
                    self.target_syncs += 1
            terminal = result.game_over or (cfg.life_loss_terminal and result.life_lost)
            segment.add(state, action, min(max(result.reward, -1.0), 1.0))
            if result.game_over:
                self.stats.add_episode(env.episode_score, env.episode_steps)
                state = env.reset()
            else:
                state = result.observation
            t1 = clock()
            if terminal or len(segment) >= cfg.tmax:
                # The update call bootstraps the last transition from `state` (its s').
                segment.bootstrap = 0.0 if terminal else gamma
                q, _, loss = dispatcher.request(state, segment)
                self.stats.add_segment(q_sum, len(segment), loss)
                self._check_finite(loss)
                segment, q_sum = dispatch.Segment(), 0.0
            else:
                q, target_max, _ = dispatcher.request(state, None)
                segment.targets[-1] += gamma * target_max
            times[0] += t1 - t0
            times[1] += clock() - t1

    def _check_finite(self, loss):
        """Counts consecutive skipped (non-finite) updates; too many stop the run."""
        with self._sync_lock:
            self._nonfinite_streak = 0 if np.isfinite(loss) else self._nonfinite_streak + 1
            streak = self._nonfinite_streak
        if streak >= self.config.max_nonfinite_updates:
            raise NumericsError(
                f"{streak} updates in a row had a non-finite loss or gradient and were skipped "
                f"(at T={self.counter.value}); lower --lr or check the game's rewards")

    def _tester_loop(self):
        cfg = self.config
        env = environment.make_env(cfg.game, seed=self._test_env_seed, **cfg.env_kwargs())
        rng = np.random.default_rng(self._seeds[-1])
        next_test = (self.counter.value // cfg.test_interval + 1) * cfg.test_interval
        while not self._stop.is_set():
            if self.counter.value < next_test:
                if self._learners_done():
                    break
                self._stop.wait(0.2)
                continue
            step, start = self.counter.value, time.time()
            results = evaluation.play_games(env, self.learner.q_values, cfg.test_games,
                                            cfg.test_epsilon, rng, cfg.test_max_steps,
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
            with self._sync_lock:  # Written by the main thread after the next checkpoint.
                self._pending_test_rows.append((step, row))
            _say(f"test at T={step}: mean {summary['mean']:.1f} over {cfg.test_games} games "
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
        now, step, frames = time.time(), self.counter.value, self.emulator_frames()
        path = self.checkpointer.save(step, frames, self.eps_mins)
        with self._sync_lock:
            tests, self._pending_test_rows = self._pending_test_rows, []
        for test_step, row in tests:
            self.test_log.write(test_step, row)
        if step == last["step"]:
            return path
        elapsed = max(now - last["time"], 1e-9)
        sps = (step - last["step"]) / elapsed
        row = self.stats.drain()
        eps_mean = float(np.mean([self._epsilon(step, e) for e in self.eps_mins]))
        row.update(emulator_frames=frames, wall_time_s=now - self._start_time,
                   epsilon_mean=eps_mean, learning_rate=self._learning_rate(step),
                   agent_steps_per_s=sps, emulator_frames_per_s=(frames - last["frames"]) / elapsed)
        self.train_log.write(step, row)
        eta = (self.config.total_frames - step) / sps if sps > 0 else float("inf")
        _say(f"{time.strftime('%H:%M:%S')} T={step} frames={frames} "
             f"score={row['score_mean']:.1f} ({row['episodes']} games) avg_max_q={row['avg_max_q']:.3f} "
             f"eps={eps_mean:.3f} lr={row['learning_rate']:.2e} steps/s={sps:.0f} "
             f"eta={eta / 3600:.1f}h")
        last.update(time=now, step=step, frames=frames)
        return path

    def run(self):
        """Trains until `total_frames` global agent steps or a stop; returns a summary dict."""
        cfg = self.config
        self._start_time = time.time()
        start_step = self.counter.value
        last = dict(time=self._start_time, step=start_step, frames=self.emulator_frames())
        self._learner_threads = [
            threading.Thread(target=self._guarded, args=(self._learner_loop, i),
                             name=f"learner-{i}", daemon=True) for i in range(cfg.threads)]
        workers = list(self._learner_threads)
        if cfg.test_interval > 0:
            workers.append(threading.Thread(target=self._guarded, args=(self._tester_loop,),
                                            name="tester", daemon=True))
        next_log = (start_step // cfg.log_interval + 1) * cfg.log_interval
        with _stop_on_signals(self._stop):
            self._dispatcher.start()
            for t in workers:
                t.start()
            while not self._learners_done():
                self._stop.wait(0.1)
                if self.counter.value >= next_log:
                    self._checkpoint_and_log(last)
                    next_log = (self.counter.value // cfg.log_interval + 1) * cfg.log_interval
            self._stop.set()
            for t in workers:
                t.join()
            self._dispatcher.close()
        path = self._checkpoint_and_log(last)
        self.train_log.close()
        self.test_log.close()
        for env in self._envs:
            env.close()
        if self._errors:
            raise self._errors[0]
        elapsed = time.time() - self._start_time
        steps = self.counter.value - start_step
        _say(f"saved {path}; T={self.counter.value}, {steps / elapsed:.0f} agent steps/s")
        return dict(step=self.counter.value, checkpoint=path, seconds=elapsed,
                    agent_steps_per_s=steps / elapsed, target_syncs=self.target_syncs)


def train(config, stop_event=None):
    """Runs (or resumes) asynchronous one-step Q-learning as configured; returns a summary."""
    return AsyncQTrainer(config, stop_event).run()
