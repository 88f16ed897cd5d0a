"""Worker processes on Ray sharing one model (`--workers N`).

Imported only when `--workers` > 0 (Ray is the optional extra `.[ray]`).

Processes:
- the driver (`DistributedTrainer`, the `runner.Trainer` with its learner
  threads replaced by one watcher thread per worker): the logdir, logs, test
  games, signals, and when to checkpoint;
- one `Holder` actor, placed on the driver's node: the shared model (the
  agent's weights and the shared RMSProp statistics), the exact global step
  counter, the target syncs and the checkpoints (it writes them, complete or
  not at all, as `checkpointing.Checkpointer` does);
- `--workers` `Worker` actors, each running `--threads` learner threads
  (`learner.LearnerLoop`, the same loop and agent code as one process) on its own
  environments and its own copy of the weights.

What crosses between them:
- a worker's learner threads claim global steps in blocks of `BLOCK` from the
  holder (one call per block, which also reports the block's emulator frames);
  the holder never grants past `--total_frames`, so the count is exact: at the
  end of a run the steps played add up to exactly `--total_frames`, and a stop
  gives back what was claimed and not played. A worker killed mid-block leaves
  the rest of that block (< BLOCK steps) counted but unplayed;
- each of the worker's batched TF calls computes the gradient of every
  segment finished in it (one per learner thread at most, as the paper's
  per-thread updates), sends them in one call, each one flat float32 array
  (`transport.py`), the holder applies them one
  after another with the shared optimizer at the learning rate of the global
  step, and answers with the new online weights (and the target network's
  when it has synced since the worker last had them). So a worker's weights
  are at most one of its own updates stale, plus what other workers applied
  meanwhile, as an A3C thread's local copy refreshed every segment. With
  `--gradients_per_message` k > 1 a worker keeps its finished segments'
  gradients until it has k, sends them as one [k, size] array (one round trip
  instead of k; each still its own update in the holder) and acts up to k of
  its own updates behind; a stopping worker sends what it still holds;
- the target network syncs in the holder when a granted block crosses a
  multiple of `--update_interval` (exactly once per interval);
- the driver drains each worker's interval statistics before each log row.

With `--holder_shards` K > 1 the model lives in K `shards.Shard` actors instead, each
owning a slice of the flat weights, target network and optimizer statistics; a worker
clips each gradient by its global norm, sends each shard its slice and puts the weights
together from the K answers (`_ShardedStep`); the holder keeps the counter, tells the
shards to sync their targets and gathers their slices into its agent before each
checkpoint and test.
"""

import os
import threading
import time
import warnings

import numpy as np
import ray

from async_deeprl import (checkpointing, dispatch, environment, faults, learner, metrics,
                          ray_access, runner, shards, transport)
from async_deeprl.agents.base import Segment

BLOCK = 32  # global agent steps a worker claims from the holder at a time
# Every process of the run imports TensorFlow with its start-up lines hidden, as the driver does.
RUNTIME_ENV = dict(
    env_vars={"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")},
    worker_process_setup_hook="async_deeprl.tf_logs.import_quietly")


def _tf_threads(config):
    """TensorFlow intra-/inter-op threads of each process: its share of the cores."""
    if config.tf_threads:
        return config.tf_threads
    return max(1, (os.cpu_count() or 1) // config.workers)


def _learning_rate(config, step):
    return runner.learning_rate(config, step)


class Holder:
    """The shared model, the global step counter, target syncs and checkpoints."""

    def pid(self):
        return os.getpid()

    def __init__(self, config, num_actions, total_threads, resume, name):
        transport.set_tf_threads(_tf_threads(config))
        self.config, self.name = config, name
        self.agent = runner.build_agent(config, num_actions)
        self.checkpointer = checkpointing.Checkpointer(config.logdir,
                                                       self.agent.checkpoint_items())
        self.agent.warm_up([1])  # Creates the optimizer's slots before restoring them.
        self.flat = transport.FlatAgent(self.agent)
        self._step, self._frames = (runner.restore(self.checkpointer, config) if resume
                                    else (0, 0))
        self._lines = self.agent.prepare_threads(
            total_threads, np.random.default_rng(np.random.SeedSequence(config.seed)), resume)
        self._lock = threading.Lock()
        self._target_version = 0
        self._played = 0  # steps the workers reported played, this run
        self.target_syncs = 0
        self.updates = 0
        self.messages = 0  # calls of `apply`, each with one or more updates
        self.bytes_in = 0
        self.busy_seconds = 0.0  # in `apply`, summed over its concurrent calls
        self._model_lock = threading.Lock()  # the agent, while shards' slices load into it
        self._shards = self._start_shards() if config.holder_shards > 1 else []

    def _model_state(self):
        """The shared model as `shards.Shard.state()` keys, full length."""
        weights = self.flat.weights()
        state = self.flat.optimizer_state()
        state.update(online=weights["online"], target=weights.get("target"))
        return state

    def _start_shards(self):
        """`--holder_shards` Shard actors on this node, each given its slice of the model."""
        cfg = self.config
        here = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
            ray.get_runtime_context().get_node_id(), soft=False)
        shard_class = ray.remote(shards.Shard)
        actors = [shard_class.options(name=name, num_cpus=0, max_concurrency=cfg.workers + 4,
                                      scheduling_strategy=here).remote(
                      cfg, part, _tf_threads(cfg))
                  for name, part in zip(self.shard_names(cfg.holder_shards),
                                        shards.split_state(self._model_state(),
                                                           cfg.holder_shards))]
        ray.get([actor.stats.remote() for actor in actors])  # up, or its error raised here
        return actors

    def shard_names(self, count=None):
        """The shards' actor names (workers look them up by name, as the holder)."""
        count = len(self._shards) if count is None else count
        return [f"{self.name}-shard{k}" for k in range(count)]

    def _gather_shards(self):
        """Loads the shards' slices (weights, target, optimizer statistics) into the agent."""
        state = shards.join_states(ray.get([shard.state.remote() for shard in self._shards]))
        self.flat.set_weights({name: state[name] for name in self.agent.shared_models()})
        self.flat.set_optimizer_state(state)

    def start_info(self):
        return dict(step=self._step, frames=self._frames, lines=self._lines,
                    thread_settings=self.agent.thread_settings())

    def claim(self, n, frames, played):
        """Grants up to `n` global steps (fewer at the end, 0 when done); counts the caller's
        `frames` emulator frames and `played` steps since its last report. Returns (the step
        before the first granted, how many)."""
        cfg = self.config
        with self._lock:
            self._frames += frames
            self._played += played
            start = self._step
            count = max(0, min(n, cfg.total_frames - start))
            self._step += count
            crossed = (start + count) // cfg.update_interval - start // cfg.update_interval
            if crossed and self.agent.uses_target_network:
                self.agent.sync_target()
                for shard in self._shards:
                    shard.sync_target.remote()
                self.target_syncs += crossed
                self._target_version += 1
        return start, count

    def release(self, unused, frames, played):
        """A stopping worker gives back `unused` granted steps and reports its last frames and
        played steps."""
        with self._lock:
            self._step -= unused
            self._frames += frames
            self._played += played

    def apply(self, gradients, known_target_version):
        """Applies each segment's flat gradient (`transport`; rows of one [k, size] array) in
        turn; returns `weights(known_target_version)`."""
        start = time.perf_counter()
        lr = np.float32(_learning_rate(self.config, self._step))
        online = self.flat.apply(gradients, lr)  # the online weights after the last update
        answer = self.weights(known_target_version, online)
        with self._lock:
            self.updates += len(gradients)
            self.messages += 1
            self.bytes_in += gradients.nbytes
            self.busy_seconds += time.perf_counter() - start
        return answer

    def weights(self, known_target_version=-1, online=None):
        """({model name: flat weights}, target version): the target network only if it
        synced since `known_target_version`; `online`: the online weights, when the caller
        has them already. With shards: every network, gathered from them."""
        version = self._target_version
        if self._shards:
            with self._model_lock:
                self._gather_shards()
                return self.flat.weights(), version
        names = [name for name in self.agent.shared_models()
                 if (name != "target" or known_target_version != version)
                 and (name != "online" or online is None)]
        weights = self.flat.weights(names)
        if online is not None:
            weights["online"] = online
        return weights, version

    def counters(self, transport_stats=False):
        """The counters; with `transport_stats`, the updates, messages, gradient bytes and busy
        seconds of the shards when there are any (updates and messages: shard 0's, each reaches
        every shard;
        bytes: summed; busy: the busiest shard's)."""
        counters = dict(step=self._step, frames=self._frames, played=self._played,
                        target_syncs=self.target_syncs,
                        updates=self.updates, messages=self.messages, bytes_in=self.bytes_in,
                        busy_seconds=self.busy_seconds)
        if transport_stats and self._shards:
            stats = ray.get([shard.stats.remote() for shard in self._shards])
            counters.update(updates=stats[0]["updates"], messages=stats[0]["messages"],
                            bytes_in=sum(s["bytes_in"] for s in stats),
                            busy_seconds=max(s["busy_seconds"] for s in stats))
        return counters

    def save(self):
        """Writes a checkpoint of the shared model at the current step; returns
        (path, T, frames). A write fault raises faults.WriteError (one line)."""
        with self._lock:
            step, frames = self._step, self._frames
        with self._model_lock:
            if self._shards:
                self._gather_shards()
            return self.checkpointer.save(step, frames), step, frames


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


class GradientBatcher:
    """A worker's finished segments' flat gradients, sent `per_message` at a time
    (`--gradients_per_message`): `add(gradients)` returns the first `per_message` pending ones
    as one [k, size] array once there are that many, else None; `flush()` returns all that
    are pending (None when none). Thread-safe."""

    def __init__(self, per_message=1):
        self._per_message = per_message
        self._pending = []
        self._lock = threading.Lock()

    def add(self, gradients, flush=False):
        with self._lock:
            self._pending.extend(gradients)
            if not self._pending or (len(self._pending) < self._per_message and not flush):
                return None
            count = len(self._pending) if flush else self._per_message
            batch, self._pending = self._pending[:count], self._pending[count:]
        return np.stack(batch)

    def flush(self):
        return self.add([], flush=True)


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
        self._batcher = GradientBatcher(per_message)
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


class Worker:
    """One worker process: `--threads` learner threads, their environments and a copy of
    the weights; `run()` trains until the holder grants no more steps or `stop()`."""

    def __init__(self, config, index, holder_name, num_actions, thread_settings, total_threads,
                 start_step):
        # By name: a handle among the arguments would stop Ray from restarting the actor.
        holder = ray.get_actor(holder_name)
        transport.set_tf_threads(_tf_threads(config))
        self.config, self.index, self._holder = config, index, holder
        self._num_actions, self._thread_settings = num_actions, thread_settings
        if _was_restarted():
            # Restarted by Ray after its process died: seeded from the step it goes on at, so
            # its threads and environments do not replay the streams of the run's start.
            start_step = ray.get(holder.counters.remote())["step"]
        self.start_step = start_step
        first, n = index * config.threads, config.threads
        self._seeds = runner.thread_seeds(config.seed, total_threads, start_step)[first:first + n]
        self._env_seeds = [runner.env_seed(config.seed, first + i, total_threads, start_step)
                           for i in range(n)]
        self._stop = threading.Event()
        self.stats = metrics.IntervalStats()

    def _build(self):
        cfg = self.config
        agent = runner.build_agent(cfg, self._num_actions)
        agent.set_thread_settings(self._thread_settings)
        agent.warm_up(sorted({dispatch.batch_size_for(n) for n in range(1, cfg.threads + 1)}))
        return agent

    def run(self):
        """Trains; returns {played: steps its threads took}; a thread's error is raised."""
        cfg = self.config
        agent = self._build()
        envs = [environment.make_env(cfg.game, seed=seed, **cfg.env_kwargs())
                for seed in self._env_seeds]
        counter = _BlockCounter(self._holder, lambda: sum(env.frame_number for env in envs))
        shard_names = ray.get(self._holder.shard_names.remote())
        if shard_names:
            step = _ShardedStep(agent, self._holder, shard_names,
                                lambda: _learning_rate(cfg, counter.value),
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
                                                   runner.NumericsError))

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


def _remote_error(error):
    """The exception raised inside an actor (e.g. a one-line WriteError), not Ray's wrapper."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, BaseException) else error


def _call(ref):
    """ray.get of a holder call that raises the holder's own exception, and ProcessLost when
    the holder's process has died (`DistributedTrainer.run` completes the message)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayActorError as e:
        raise faults.ProcessLost(f"the parameter holder died ({type(e).__name__})") from None
    except ray.exceptions.RayTaskError as e:
        raise _remote_error(e) from None


class _NoDispatcher:
    def start(self):
        pass

    def close(self):
        pass


class _HolderCounters:
    """The driver's view of the holder's counters, refreshed at most every `period` s."""

    def __init__(self, holder, period=0.05):
        self._holder, self._period = holder, period
        self._last, self._values = 0.0, None
        self._lock = threading.Lock()
        self._frozen = False

    def freeze(self):
        """Reads the counters a last time and keeps them (before the holder goes away)."""
        with self._lock:
            self._values = _call(self._holder.counters.remote(True))
            self._frozen = True
        return self._values

    def get(self, name):
        with self._lock:
            if not self._frozen and (self._values is None
                                     or time.monotonic() - self._last > self._period):
                self._values = _call(self._holder.counters.remote())
                self._last = time.monotonic()
            return self._values[name]

    @property
    def value(self):
        return self.get("step")


class DistributedTrainer(runner.Trainer):
    """`runner.Trainer` with `--workers` worker processes (see the module docstring)."""

    @property
    def learner_loops(self):
        return self.config.workers

    @property
    def total_threads(self):
        return self.config.workers * self.config.threads

    def transport_stats(self):
        """For benchmarks: {updates, messages, bytes_in, busy_seconds} of the holder and wait_seconds
        (summed over the workers: their TF calls waiting for the holder's answers) so far."""
        counters = _call(self.holder.counters.remote(True))
        waits = ray.get([worker.wait_seconds.remote() for worker in self._workers])
        return dict(updates=counters["updates"], messages=counters["messages"],
                    bytes_in=counters["bytes_in"],
                    busy_seconds=counters["busy_seconds"], wait_seconds=float(sum(waits)))

    def describe_learners(self):
        return (f"{self.config.workers} worker processes x {self.config.threads} threads "
                f"(Ray {ray.__version__})")

    def _start(self, resume):
        cfg = self.config
        self._ray_started = not ray.is_initialized()
        if self._ray_started:
            ray.init(address=cfg.ray_address, include_dashboard=False, logging_level="ERROR",
                     num_cpus=None if cfg.ray_address else max(os.cpu_count() or 1, cfg.workers),
                     runtime_env=RUNTIME_ENV)
            gcs_address = ray.get_runtime_context().gcs_address
            runner.say(ray_access.token_line(gcs_address) if cfg.ray_address else
                       ray_access.local_line(ray.util.get_node_ip_address()))
        num_actions = self._envs[0].num_actions
        node = ray.get_runtime_context().get_node_id()
        here = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(node, soft=False)
        holder_name = f"async_deeprl-holder-{os.getpid()}-{time.time_ns()}"
        self.holder = ray.remote(Holder).options(
            name=holder_name, num_cpus=0, max_concurrency=cfg.workers + 4,
            scheduling_strategy=here).remote(
            cfg, num_actions, self.total_threads, resume, holder_name)
        info = _call(self.holder.start_info.remote())
        self.holder_pid = _call(self.holder.pid.remote())
        start_step, self._thread_lines = info["step"], info["lines"]
        if resume:
            runner.say(f"resuming from {checkpointing.latest_checkpoint(cfg.logdir)} at "
                        f"T={start_step}")
        self.agent = runner.build_agent(cfg, num_actions)  # for test games and log values
        self._flat = transport.FlatAgent(self.agent)  # loads the holder's weights before tests
        self.agent.set_thread_settings(info["thread_settings"])
        self.counter = _HolderCounters(self.holder)
        self._seeds = self.thread_seeds(start_step)
        self.dispatcher = _NoDispatcher()
        worker_class = ray.remote(Worker).options(num_cpus=1, max_concurrency=3,
                                                  max_restarts=-1)
        self._workers = [
            worker_class.remote(cfg, w, holder_name, num_actions, info["thread_settings"],
                                self.total_threads, start_step)
            for w in range(cfg.workers)]
        self._pids = [self._wait_until_up(w) for w in self._workers]
        self.worker_restarts = 0
        self.restart_steps = []  # the global step each restarted worker was seeded at
        return start_step

    def _learner_loop(self, index):
        """Watches worker `index`: tells it to stop on a stop; when its process dies (SIGKILL,
        out of memory), Ray restarts it and it is run again."""
        worker = self._workers[index]
        while True:
            ref, stopping = worker.run.remote(), False
            while not ray.wait([ref], timeout=0.2)[0]:
                if self._stop.is_set() and not stopping:
                    worker.stop.remote()
                    stopping = True
            try:
                ray.get(ref)
            except ray.exceptions.RayActorError as e:
                if self._stop.is_set():
                    return
                _call(self.holder.pid.remote())  # ProcessLost if it was the holder that died
                pid = self._wait_until_up(worker)
                if pid != self._pids[index]:
                    seeded_at = ray.get(worker.seeded_at.remote(), timeout=60)
                    with self._lock:
                        self.worker_restarts += 1
                        self.restart_steps.append(seeded_at)
                    runner.say(f"worker {index} (pid {self._pids[index]}) died "
                               f"({type(e).__name__}); Ray restarted it as pid {pid}, which "
                               f"goes on with the run, seeded at T={seeded_at}")
                    self._pids[index] = pid
                continue
            except ray.exceptions.RayTaskError as e:
                raise _remote_error(e) from None
            return

    def worker_pids(self):
        """The process id of each worker (for the fault tests)."""
        return list(self._pids)

    def _wait_until_up(self, worker, timeout=300):
        """The pid of `worker` once it answers again (Ray restarts a dead actor's process)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return ray.get(worker.pid.remote(), timeout=10)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                if time.monotonic() > deadline or self._stop.is_set():
                    raise
                time.sleep(0.5)

    def _before_test(self):
        weights, _ = _call(self.holder.weights.remote())
        self._flat.set_weights(weights)

    def _save_checkpoint(self):
        return tuple(_call(self.holder.save.remote()))

    def _drain_stats(self, names):
        for worker in self._workers:
            try:
                self.stats.merge(ray.get(worker.take_stats.remote(), timeout=60))
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                pass  # A worker being restarted: its interval's games are lost, not the run.
        return self.stats.drain(names)

    def emulator_frames(self):
        return self.counter.get("frames")

    def timing(self):
        return self.counter.value, np.zeros(2)

    def _close(self, failure):
        try:
            if not isinstance(failure, faults.ProcessLost):  # else no holder to ask
                totals = self.counter.freeze()
                self.target_syncs, self.updates = totals["target_syncs"], totals["updates"]
                self.messages = totals["messages"]
                self.bytes_in, self.played = totals["bytes_in"], totals["played"]
        finally:
            try:
                super()._close(failure)
            finally:
                for actor in self._workers + [self.holder]:
                    ray.kill(actor, no_restart=True)
                if self._ray_started:
                    ray.shutdown()

    def run(self):
        """As `runner.Trainer.run`; the summary adds the steps the workers played, their
        restarts (and the global step each restarted worker was seeded at), and the updates
        (the messages that carried them, and their gradient bytes) the holder applied."""
        try:
            summary = super().run()
        except faults.ProcessLost as e:
            latest = checkpointing.latest_checkpoint(self.config.logdir)
            kept = (f"its last checkpoint {os.path.basename(latest)} and the log rows it covers "
                    "are intact; rerun the same command to resume from it" if latest else
                    "no checkpoint had been written yet; rerun the same command to start again")
            raise faults.ProcessLost(f"{e} (pid {self.holder_pid}): the run stopped; {kept}") \
                from None
        summary.update(played=self.played, worker_restarts=self.worker_restarts,
                       restart_steps=list(self.restart_steps), updates=self.updates,
                       messages=self.messages, gradient_bytes=self.bytes_in)
        return summary
