"""The driver's side of a `--workers` run: Ray, the holder and worker actors, one watcher
thread per worker, and what `runner.Trainer` asks of a backend."""

import os
import threading
import time

import numpy as np
import ray

from async_deeprl import backend, checkpointing, faults, metrics, ray_access
from async_deeprl.distributed import transport
from async_deeprl.distributed.holder import Holder
from async_deeprl.distributed.worker import Worker

# Every process of the run imports TensorFlow with its start-up lines hidden, as the driver does.
RUNTIME_ENV = dict(
    env_vars={"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")},
    worker_process_setup_hook="async_deeprl.tf_logs.import_quietly")

# Ray's raylet reads the niceness of the worker processes it starts from this variable.
WORKER_NICENESS = "RAY_worker_niceness"


def start_ray(address=None, workers=1):
    """Connects to the Ray cluster at `address`, or starts a local one with a CPU per core (at
    least one per worker), every process importing TensorFlow quietly. A local one runs its
    worker processes at this process's niceness: Ray's default (15) leaves the holder and the
    workers, which do all the training, only what other programs on the machine leave over."""
    if address is None:
        os.environ.setdefault(WORKER_NICENESS, str(os.nice(0)))
    ray.init(address=address, include_dashboard=False, logging_level="ERROR",
             num_cpus=None if address else max(os.cpu_count() or 1, workers),
             runtime_env=RUNTIME_ENV)


def _remote_error(error):
    """The exception raised inside an actor (e.g. a one-line WriteError), not Ray's wrapper."""
    cause = getattr(error, "cause", None)
    return cause if isinstance(cause, BaseException) else error


def _call(ref):
    """ray.get of a holder call that raises the holder's own exception, and ProcessLost when
    the holder's process has died (`RayBackend.explain` completes the message)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayActorError as e:
        raise faults.ProcessLost(f"the parameter holder died ({type(e).__name__})") from None
    except ray.exceptions.RayTaskError as e:
        raise _remote_error(e) from None


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


class RayBackend(backend.Backend):
    """`--workers` worker processes on Ray sharing one model (see the package docstring)."""

    def __init__(self, config, stop):
        self.config, self._stop = config, stop
        self.total_threads = config.workers * config.threads
        self.stats = metrics.IntervalStats()
        self._lock = threading.Lock()
        self._envs, self._workers, self.holder, self.holder_pid = [], [], None, None
        self._ray_started = False
        self.worker_restarts = 0
        self.restart_steps = []  # the global step each restarted worker was seeded at
        self._totals = {}

    def transport_stats(self):
        """For benchmarks: {updates, messages, bytes_in, busy_seconds} of the holder and
        wait_seconds (summed over the workers: their TF calls waiting for the holder's
        answers) so far."""
        counters = _call(self.holder.counters.remote(True))
        waits = ray.get([worker.wait_seconds.remote() for worker in self._workers])
        return dict(updates=counters["updates"], messages=counters["messages"],
                    bytes_in=counters["bytes_in"],
                    busy_seconds=counters["busy_seconds"], wait_seconds=float(sum(waits)))

    def describe(self):
        return (f"{self.config.workers} worker processes x {self.config.threads} threads "
                f"(Ray {ray.__version__})")

    def start(self, first_env, resume):
        cfg = self.config
        self._envs = [first_env]  # only its action count is needed here; closed at the end
        self._ray_started = not ray.is_initialized()
        if self._ray_started:
            start_ray(cfg.ray_address, cfg.workers)
            gcs_address = ray.get_runtime_context().gcs_address
            print(ray_access.token_line(gcs_address) if cfg.ray_address else
                  ray_access.local_line(ray.util.get_node_ip_address()), flush=True)
        num_actions = first_env.num_actions
        node = ray.get_runtime_context().get_node_id()
        here = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(node, soft=False)
        holder_name = f"async_deeprl-holder-{os.getpid()}-{time.time_ns()}"
        self.holder = ray.remote(Holder).options(
            name=holder_name, num_cpus=0, max_concurrency=cfg.workers + 4,
            scheduling_strategy=here).remote(
            cfg, num_actions, self.total_threads, resume, holder_name)
        # The workers' processes start (each importing TensorFlow) while the holder builds and
        # restores the model and this process builds its own copy; each asks the holder for
        # its start once the holder is up.
        worker_class = ray.remote(Worker).options(num_cpus=1, max_concurrency=3,
                                                  max_restarts=-1)
        self._workers = [worker_class.remote(cfg, w, holder_name, num_actions,
                                             self.total_threads)
                         for w in range(cfg.workers)]
        self.agent = backend.build_agent(cfg, num_actions)  # for test games and log values
        self._flat = transport.FlatAgent(self.agent)  # loads the holder's weights before tests
        info = _call(self.holder.start_info.remote())
        self.holder_pid = _call(self.holder.pid.remote())
        start_step = info["step"]
        if resume:
            print(f"resuming from {checkpointing.latest_checkpoint(cfg.logdir)} at "
                  f"T={start_step}", flush=True)
        self.agent.set_thread_settings(info["thread_settings"])
        self.counter = _HolderCounters(self.holder)
        self._pids = [self._wait_until_up(w) for w in self._workers]
        return start_step, info["lines"]

    def loops(self):
        return [lambda i=i: self._watch(i) for i in range(self.config.workers)]

    def _watch(self, index):
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
                if pid is None:
                    return  # the run ended while Ray was restarting it
                if pid != self._pids[index]:
                    seeded_at = ray.get(worker.seeded_at.remote(), timeout=60)
                    with self._lock:
                        self.worker_restarts += 1
                        self.restart_steps.append(seeded_at)
                    print(f"worker {index} (pid {self._pids[index]}) died "
                          f"({type(e).__name__}); Ray restarted it as pid {pid}, which "
                          f"goes on with the run, seeded at T={seeded_at}", flush=True)
                    self._pids[index] = pid
                continue
            except ray.exceptions.RayTaskError as e:
                raise _remote_error(e) from None
            return

    def worker_pids(self):
        """The process id of each worker (for the fault tests)."""
        return list(self._pids)

    def _wait_until_up(self, worker, timeout=300):
        """The pid of `worker` once it answers again (Ray restarts a dead actor's process), or
        None if the run stops first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return ray.get(worker.pid.remote(), timeout=10)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                if self._stop.is_set():
                    return None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def open(self):
        pass  # The workers' own dispatchers start inside their processes.

    def shut(self):
        pass

    def before_test(self):
        weights, _ = _call(self.holder.weights.remote())
        self._flat.set_weights(weights)

    def save_checkpoint(self):
        return tuple(_call(self.holder.save.remote()))

    def drain_stats(self, names):
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

    def close(self, failure):
        try:
            if failure is None and self.counter is not None:
                self._totals = self.counter.freeze()  # the summary's, before the holder goes
        finally:
            for env in self._envs:
                env.close()
            for actor in self._workers + ([self.holder] if self.holder is not None else []):
                ray.kill(actor, no_restart=True)
            if self._ray_started:
                ray.shutdown()
        return None

    def summary(self):
        """The steps the workers played, their restarts (and the global step each restarted
        worker was seeded at), and the updates (the messages that carried them, and their
        gradient bytes) the holder applied."""
        totals = self._totals
        return dict(target_syncs=totals["target_syncs"], played=totals["played"],
                    worker_restarts=self.worker_restarts,
                    restart_steps=list(self.restart_steps), updates=totals["updates"],
                    messages=totals["messages"], gradient_bytes=totals["bytes_in"])

    def explain(self, error):
        """The holder's death, with the pid and what the run kept."""
        latest = checkpointing.latest_checkpoint(self.config.logdir)
        kept = (f"its last checkpoint {os.path.basename(latest)} and the log rows it covers "
                "are intact; rerun the same command to resume from it" if latest else
                "no checkpoint had been written yet; rerun the same command to start again")
        return faults.ProcessLost(f"{error} (pid {self.holder_pid}): the run stopped; {kept}")
