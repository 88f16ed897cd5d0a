"""How learner threads reach TensorFlow, whatever the agent.

A learner thread makes one request per agent step: "apply my finished
segment's update (if any), then give me the agent's acting outputs for my next
state" (Q-values, and for some agents the target network's Q-values too). Two
dispatchers answer it with the agent's same compiled `update` and `act`:

- `DirectDispatcher`: the calling thread runs the step itself. Threads update
  the shared weights concurrently without a lock, as in the paper.
- `BatchingDispatcher`: `servers` server threads (the trainer's default is 2)
  run every step; the requests of all threads that wait at the same moment go
  into one call of whichever server is free, in which each
  thread's segment is still its own update, applied one after another, and
  every thread then acts on the updated weights with one batched forward pass.
  TensorFlow's fixed cost of an acting call (about 1 ms on a CPU) is paid once
  per batch instead of once per thread.
"""

import threading
import time

import numpy as np


def batch_size_for(n):
    """The padded batch size of `n` acting states: the next power of two."""
    return 1 << max(n - 1, 0).bit_length()


def run_step(agent, learning_rate, states, updates):  # Both dispatchers' one call path.
    """Applies each request's update (in order), then acts on all states in one call.

    Returns one (acting outputs of that state as a tuple, update stats or None)
    per request.
    """
    lr = np.float32(learning_rate)
    stats = [None if args is None else agent.update(*args, lr).numpy() for args in updates]
    return act_batch(agent, states, stats)


def local_step(agent, learning_rate_fn):
    """The call path of one process: `run_step` on `agent` at `learning_rate_fn()`."""
    return lambda states, updates: run_step(agent, learning_rate_fn(), states, updates)


def act_batch(agent, states, stats):
    """One acting call on `states` (padded to `batch_size_for`); pairs each state's outputs
    with its request's `stats`. A state is a frame stack, or for a recurrent agent a tuple
    (frame stack, the thread's recurrent state...): each part is batched row by row, so a
    thread's recurrent state meets only its own frames."""
    size = batch_size_for(len(states))
    rows = [s if isinstance(s, tuple) else (s,) for s in states]
    inputs = []
    for part in zip(*rows):
        batch = np.zeros((size, *part[0].shape), part[0].dtype)
        batch[:len(part)] = part
        inputs.append(batch)
    outputs = [o.numpy() for o in agent.act(*inputs)]
    return [(tuple(o[i] for o in outputs), stats[i]) for i in range(len(states))]


class DirectDispatcher:
    """Each learner thread runs its own calls (lock-free concurrent updates).

    `step(states, updates)`: the call path, `run_step` with its agent and learning rate.
    """

    def __init__(self, step):
        self._step = step

    def request(self, state, update):
        """Applies `update` (args, or None), then returns (acting outputs of `state`, stats)."""
        return self._step([state], [update])[0]

    def start(self):
        pass

    def close(self):
        pass


class _Request:
    __slots__ = ("state", "update", "result", "error", "done")

    def __init__(self, state, update):
        self.state, self.update = state, update
        self.result = self.error = None
        self.done = threading.Event()


class BatchingDispatcher:
    """`servers` server threads answer the requests of all learner threads, batched per call.

    `step(states, updates)`: the call path, `run_step` with its agent and learning rate.
    """

    def __init__(self, step, servers=1):
        self._step = step
        self._cond = threading.Condition()
        self._queue = []
        self._closed = False
        self._threads = [threading.Thread(target=self._serve, name=f"tf-server-{i}", daemon=True)
                         for i in range(servers)]
        self.calls = 0  # step calls made, for the mean batch size
        self.requests = 0
        self.busy_seconds = 0.0  # time spent inside step calls

    def start(self):
        for t in self._threads:
            t.start()

    def request(self, state, update):
        """Applies `update` (args, or None), then returns (acting outputs of `state`, stats)."""
        req = _Request(state, update)
        with self._cond:
            if self._closed:
                raise RuntimeError("the TensorFlow server is closed")
            self._queue.append(req)
            self._cond.notify()
        req.done.wait()
        if req.error is not None:
            raise req.error
        return req.result

    def _serve(self):
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
            start = time.perf_counter()
            try:
                results = self._step([r.state for r in batch], [r.update for r in batch])
            except BaseException as e:  # Handed to every waiting thread.
                for r in batch:
                    r.error = e
                    r.done.set()
                continue
            with self._cond:
                self.busy_seconds += time.perf_counter() - start
                self.calls += 1
                self.requests += len(batch)
            for r, result in zip(batch, results):
                r.result = result
                r.done.set()

    def close(self):
        """Answers what is queued, then stops the server thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            if t.is_alive():
                t.join()


def make_dispatcher(step, servers):
    """`servers` batching server threads, or direct calls from each thread when 0.

    `step(states, updates)` makes the calls (see `run_step`)."""
    if servers > 0:
        return BatchingDispatcher(step, servers)
    return DirectDispatcher(step)
