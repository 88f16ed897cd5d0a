"""A worker process of a `--workers` run: `--threads` learner threads on its own environments
and its own copy of the weights, sending each finished segment's gradient to the holder."""

import os
import threading
import time
import warnings

import numpy as np
import ray

from async_deeprl import backend, dispatch, environment, learner, metrics
from async_deeprl.agents.base import Segment
from async_deeprl.distributed import transport

BLOCK = 32  # global agent steps a worker claims from the holder at a time


class _BlockCounter:
    """A worker's view of the global step counter: steps claimed from the holder in blocks."""

    def __init__(self, holder, frames_fn):
        self._holder, self._frames_fn = holder, frames_fn
        self._lock = threading.Lock()
        self._next = self._end = self._value = 0
        self._reported_frames = self._reported_played = 0
        self._done = False
        self.played = 0  # steps this worker's threads took

    @property
    def value(self):
        return self._value

    def _report(self):
        """(emulator frames, played steps) since the last report to the holder."""
        frames = self._frames_fn()
        report = frames - self._reported_frames, self.played - self._reported_played
        self._reported_frames, self._reported_played = frames, self.played
        return report

    def claim(self, limit):
        """The next global step for one of this worker's threads, or None when the run is done
        (the holder knows the limit)."""
        del limit
        with self._lock:
            if self._next >= self._end:
                if self._done:
                    return None
                start, count = ray.get(self._holder.claim.remote(BLOCK, *self._report()))
                if count == 0:
                    self._done = True
                    return None
                self._next, self._end = start, start + count
            self._next += 1
            self.played += 1
            self._value = self._next
            return self._next

    def release(self):
        with self._lock:
            unused, self._next = self._end - self._next, self._end
            ray.get(self._holder.release.remote(unused, *self._report()))


def _was_restarted():
    """Whether Ray restarted this actor after its process died. Ray's own property reads a
    deprecated attribute of itself and would print a RayDeprecationWarning in every worker."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return bool(ray.get_runtime_context().was_current_actor_reconstructed)


class _RemoteStep:
    """A worker's TF call path: gradients of the finished segments to the holder, its new
    weights back, then one local acting call for every waiting thread."""

    def __init__(self, agent, holder, per_message=1):
        self._agent, self._flat, self._holder = agent, transport.FlatAgent(agent), holder
        self._target_version = -1
        self._lock = threading.Lock()
        self._batcher = transport.GradientBatcher(per_message)
        self.wait_seconds = 0.0  # waiting for the holder's answers (its threads blocked)

    def _gradients(self, *args):
        return self._flat.gradients(*args)

    def compile(self):
        """Traces and compiles the gradient call before the threads start (an empty segment)."""
        zero = np.zeros(self._agent.input_shape, np.uint8)
        self._gradients(*self._agent.update_args(Segment(), zero), np.float32(0.0))

    def flush(self):
        """Sends the gradients still pending (a stopping worker's last updates)."""
        batch = self._batcher.flush()
        if batch is not None:
            self.refresh(batch)

    def refresh(self, gradients=None):
        """Sends `gradients` ([k, size]: k updates, applied in turn) and loads the holder's
        answer; None: only reads the shared weights."""
        with self._lock:
            known = self._target_version
        start = time.perf_counter()
        if gradients is not None:
            weights, version = ray.get(self._holder.apply.remote(gradients, known))
        else:
            weights, version = ray.get(self._holder.weights.remote(known))
        with self._lock:
            self.wait_seconds += time.perf_counter() - start
            self._flat.set_weights(weights)
            self._target_version = version

    def __call__(self, states, updates):
        stats, gradients = [None] * len(updates), []
        for i, args in enumerate(updates):
            if args is None:
                continue
            values, flat = self._gradients(*args, np.float32(0.0))
            stats[i] = values.numpy()
            if np.all(np.isfinite(stats[i])):  # A non-finite update is skipped, as in one process.
                gradients.append(flat.numpy())
        batch = self._batcher.add(gradients)
        if batch is not None:
            self.refresh(batch)
        return dispatch.act_batch(self._agent, states, stats)


class _ShardedStep(_RemoteStep):
    """`_RemoteStep` with `--holder_shards` K > 1: each gradient clipped by its global norm,
    cut into K slices, each slice sent to its shard (K calls in flight at once) at the learning
    rate of this worker's view of the global step; the new weights put together from the K
    answers."""

    def __init__(self, agent, holder, shard_names, learning_rate, per_message=1):
        super().__init__(agent, holder, per_message)
        self._shards = [ray.get_actor(name) for name in shard_names]
        self._learning_rate = learning_rate
        size = sum(int(np.prod(v.shape)) for v in agent.trainable_variables)
        self._bounds = transport.bounds(size, len(self._shards))
        self._versions = [-1] * len(self._shards)
        self._target = np.zeros(size, np.float32) if agent.uses_target_network else None

    def _gradients(self, *args):
        return self._flat.clipped_gradients(*args)

    def refresh(self, gradients=None):
        lr = np.float32(self._learning_rate())
        with self._lock:
            known = list(self._versions)
        start = time.perf_counter()
        if gradients is not None:
            refs = [shard.apply.remote(np.ascontiguousarray(gradients[:, a:b]), lr, version)
                    for shard, (a, b), version in zip(self._shards, self._bounds, known)]
        else:
            refs = [shard.read.remote(version) for shard, version in zip(self._shards, known)]
        answers = ray.get(refs)
        with self._lock:
            self.wait_seconds += time.perf_counter() - start
            weights = dict(online=np.concatenate([online for online, _, _ in answers]))
            synced = False
            for k, ((a, b), (_, target, version)) in enumerate(zip(self._bounds, answers)):
                if target is not None:
                    self._target[a:b] = target
                    synced = True
                self._versions[k] = version
            if synced:
                weights["target"] = self._target
            self._flat.set_weights(weights)


def _holder_named(name, timeout=60.0):
    """The holder actor registered under `name`, waiting up to `timeout` s for it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ray.get_actor(name)
        except ValueError:  # not registered yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Worker:
    """One worker process: `--threads` learner threads, their environments and a copy of
    the weights; `run()` trains until the holder grants no more steps or `stop()`."""

    def __init__(self, config, index, holder_name, num_actions, total_threads):
        # By name: a handle among the arguments would stop Ray from restarting the actor. The
        # driver creates the workers right after the holder, so that their processes start
        # (and import TensorFlow) while the holder builds and restores the model; the holder
        # may not be registered yet, and `start_info` waits for its constructor.
        holder = _holder_named(holder_name)
        transport.set_tf_threads(transport.tf_threads_of(config))
        self.config, self.index, self._holder = config, index, holder
        self._num_actions, self._stop = num_actions, threading.Event()
        self.stats, self.start_step = metrics.IntervalStats(), None
        try:
            self._agent = self._build()  # while the holder starts
            info = ray.get(holder.start_info.remote())
            start_step = info["step"]
            if _was_restarted():
                # Restarted by Ray after its process died: seeded from the step it goes on at,
                # so its threads and environments do not replay the streams of the run's start.
                start_step = ray.get(holder.counters.remote())["step"]
        except Exception as e:  # noqa: BLE001 - raised by run(), where the driver gets it
            # The holder failed to start or died (the driver reports the holder's own error),
            # or the model could not be built: raised here, this would make Ray restart the
            # worker again and again.
            self._start_error = e
            return
        self._start_error = None
        self._agent.set_thread_settings(info["thread_settings"])
        self.start_step = start_step
        first, n = index * config.threads, config.threads
        self._seeds = backend.thread_seeds(config.seed, total_threads, start_step)[first:first + n]
        self._env_seeds = [backend.env_seed(config.seed, first + i, total_threads, start_step)
                           for i in range(n)]

    def _build(self):
        cfg = self.config
        agent = backend.build_agent(cfg, self._num_actions)
        # Gradients, not updates: `run` compiles those (`step.compile`); the holder updates.
        agent.warm_up(sorted({dispatch.batch_size_for(n) for n in range(1, cfg.threads + 1)}),
                      update=False)
        return agent

    def run(self):
        """Trains; returns {played: steps its threads took}; a thread's error is raised."""
        if self._start_error is not None:
            raise self._start_error
        cfg, agent = self.config, self._agent
        envs = [environment.make_env(cfg.game, seed=seed, **cfg.env_kwargs())
                for seed in self._env_seeds]
        counter = _BlockCounter(self._holder, lambda: sum(env.frame_number for env in envs))
        shard_names = ray.get(self._holder.shard_names.remote())
        if shard_names:
            step = _ShardedStep(agent, self._holder, shard_names,
                                lambda: backend.learning_rate(cfg, counter.value),
                                cfg.gradients_per_message)
        else:
            step = _RemoteStep(agent, self._holder, cfg.gradients_per_message)
        self._remote_step = step
        step.compile()
        step.refresh()
        dispatcher = dispatch.make_dispatcher(step, cfg.tf_servers)
        errors, lock = [], threading.Lock()
        loop = learner.LearnerLoop(cfg, counter, dispatcher, self.stats, self._stop, None,
                               learner.FiniteCheck(cfg.max_nonfinite_updates, counter, lock,
                                                   backend.NumericsError))

        def thread(i):
            try:
                player = agent.player(self.index * cfg.threads + i,
                                      np.random.default_rng(self._seeds[i]))
                loop.run(envs[i], player, agent.update_stats, [0.0, 0.0])
            except BaseException as e:  # Raised by run() after every thread stopped.
                errors.append(e)
                self._stop.set()

        threads = [threading.Thread(target=thread, args=(i,), daemon=True)
                   for i in range(cfg.threads)]
        dispatcher.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dispatcher.close()
        step.flush()
        counter.release()
        for env in envs:
            env.close()
        if errors:
            raise errors[0]
        return dict(played=counter.played)  # as reported to the holder

    def take_stats(self):
        return self.stats.take()

    def wait_seconds(self):
        """Seconds its TF calls have waited for the holder's answers, this run."""
        step = getattr(self, "_remote_step", None)
        return 0.0 if step is None else step.wait_seconds

    def pid(self):
        return os.getpid()

    def seeded_at(self):
        """The global step its seeds derive from: the run's start, or where Ray restarted it."""
        return self.start_step

    def stop(self):
        self._stop.set()
