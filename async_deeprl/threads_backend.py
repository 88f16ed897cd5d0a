"""Learner threads in this process sharing one agent: the paper's arrangement.

Each learner thread owns one environment and one player of the agent
(`config.algorithm`); its loop (`learner.LearnerLoop`) claims global steps,
steps the environment and sends one request per step through the dispatcher,
whose server threads run the TF calls. The target network syncs here every
`update_interval` global steps. Nothing here depends on which agent runs.
"""

import threading

import numpy as np

from async_deeprl import backend, checkpointing, dispatch, environment, learner, metrics
from async_deeprl.counter import StepCounter


class ThreadBackend(backend.Backend):
    """`config.threads` learner threads and their environments, one agent, one dispatcher."""

    def __init__(self, config, stop):
        self.config, self._stop = config, stop
        self.total_threads = config.threads
        self.stats = metrics.IntervalStats()
        self.target_syncs = 0  # this run's target syncs, one per update_interval crossed
        self._lock = threading.Lock()
        self._envs = []

    def env_seed(self, thread, start_step=0):
        return backend.env_seed(self.config.seed, thread, self.total_threads, start_step)

    def start(self, first_env, resume):
        cfg = self.config
        self._envs = [first_env]
        for i in range(1, cfg.threads):
            self._envs.append(environment.make_env(cfg.game, seed=self.env_seed(i),
                                                   **cfg.env_kwargs()))
        self.agent = backend.build_agent(cfg, first_env.num_actions)
        self.checkpointer = checkpointing.Checkpointer(cfg.logdir, self.agent.checkpoint_items())
        # Compile before restoring: the warm-up touches the optimizer's slots.
        self.agent.warm_up(sorted({dispatch.batch_size_for(n) for n in range(1, cfg.threads + 1)}))
        start_step, self._frames_base = 0, 0
        if resume:
            start_step, self._frames_base = backend.restore(self.checkpointer, cfg)
            print(f"resuming from {self.checkpointer.latest} at T={start_step}", flush=True)
            for i, env in enumerate(self._envs):
                env.set_seed(self.env_seed(i, start_step))
        lines = self.agent.prepare_threads(
            cfg.threads, np.random.default_rng(np.random.SeedSequence(cfg.seed)), resume)
        self._seeds = backend.thread_seeds(cfg.seed, self.total_threads, start_step)
        self.counter = StepCounter(start_step)
        self.thread_times = [[0.0, 0.0] for _ in range(cfg.threads)]  # [env, waiting for TF] s
        self.dispatcher = dispatch.make_dispatcher(
            dispatch.local_step(self.agent,
                                lambda: backend.learning_rate(cfg, self.counter.value)),
            cfg.tf_servers)
        self._loop = learner.LearnerLoop(
            cfg, self.counter, self.dispatcher, self.stats, self._stop, self._sync_target_at,
            learner.FiniteCheck(cfg.max_nonfinite_updates, self.counter, self._lock,
                                backend.NumericsError))
        return start_step, lines

    def describe(self):
        return f"{self.config.threads} threads"

    def loops(self):
        return [lambda i=i: self._learner_loop(i) for i in range(self.config.threads)]

    def _learner_loop(self, index):
        player = self.agent.player(index, np.random.default_rng(self._seeds[index]))
        self._loop.run(self._envs[index], player, self.agent.update_stats,
                       self.thread_times[index])

    def _sync_target_at(self, step):
        """Syncs the target network when `step` is a multiple of `update_interval`."""
        if self.agent.uses_target_network and step % self.config.update_interval == 0:
            self.agent.sync_target()
            with self._lock:
                self.target_syncs += 1

    def open(self):
        self.dispatcher.start()

    def shut(self):
        self.dispatcher.close()

    def before_test(self):
        pass  # The tester plays with the live shared weights.

    def save_checkpoint(self):
        step, frames = self.counter.value, self.emulator_frames()
        return self.checkpointer.save(step, frames), step, frames

    def drain_stats(self, names):
        return self.stats.drain(names)

    def emulator_frames(self):
        return self._frames_base + sum(env.frame_number for env in self._envs)

    def timing(self):
        return self.counter.value, np.array(self.thread_times).sum(axis=0)

    def close(self, failure):
        for env in self._envs:
            env.close()
        return None

    def summary(self):
        return dict(target_syncs=self.target_syncs)
