"""The parameter holder of a `--workers` run: the shared model, the exact global step counter,
the target syncs and the checkpoints (see the package docstring)."""

import os
import threading
import time

import numpy as np
import ray

from async_deeprl import backend, checkpointing
from async_deeprl.distributed import shards, transport


class Holder:
    """The shared model, the global step counter, target syncs and checkpoints."""

    def pid(self):
        return os.getpid()

    def __init__(self, config, num_actions, total_threads, resume, name):
        transport.set_tf_threads(transport.tf_threads_of(config))
        self.config, self.name = config, name
        self.agent = backend.build_agent(config, num_actions)
        self.checkpointer = checkpointing.Checkpointer(config.logdir,
                                                       self.agent.checkpoint_items())
        self.agent.warm_up([])  # Creates the optimizer's slots before restoring them; never acts.
        self.flat = transport.FlatAgent(self.agent)
        self._step, self._frames = (backend.restore(self.checkpointer, config) if resume
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
                      cfg, part, transport.tf_threads_of(cfg))
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
        lr = np.float32(backend.learning_rate(self.config, self._step))
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
