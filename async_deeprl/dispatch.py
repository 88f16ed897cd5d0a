"""How learner threads reach TensorFlow.

A learner thread makes one request per agent step: "apply my finished segment
(if any), then give me the Q-values of my next state and the target network's
max over actions of it". Two dispatchers answer it with the same compiled
`QLearner.train_segment` and `QLearner.act` functions:

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


class Segment:
    """One thread's transitions since its last update.

    `targets` holds each transition's complete target y, except the last one's,
    which holds only the clipped reward until `bootstrap` (gamma, or 0 at a
    terminal) times max_a Q_target(s', a) is added inside the update call.
    """

    def __init__(self):
        self.states, self.actions, self.targets = [], [], []
        self.bootstrap = 0.0

    def add(self, state, action, reward):
        self.states.append(state)
        self.actions.append(action)
        self.targets.append(reward)

    def __len__(self):
        return len(self.states)


def padded_segment(segment, next_state, tmax):
    """The positional arguments of `QLearner.train_segment` (without the learning rate).

    The segment is padded to `tmax` transitions (mask 0), so one compiled
    update serves every segment length.
    """
    n = len(segment)
    states = np.zeros((tmax, *next_state.shape), np.uint8)
    states[:n] = segment.states
    actions = np.zeros(tmax, np.int32)
    actions[:n] = segment.actions
    targets = np.zeros(tmax, np.float32)
    targets[:n] = segment.targets
    bootstrap = np.zeros(tmax, np.float32)
    bootstrap[n - 1] = segment.bootstrap
    mask = np.zeros(tmax, np.float32)
    mask[:n] = 1.0
    return states, actions, targets, bootstrap, mask, next_state


def batch_size_for(n):
    """The padded batch size of `n` acting states: the next power of two."""
    return 1 << max(n - 1, 0).bit_length()


def _run_step(learner, learning_rate, states, segments, tmax):
    """Applies each request's segment (in order), then acts on all states in one call.

    Returns one (q, target_max, loss or None) per request.
    """
    lr = np.float32(learning_rate)
    losses = [None if seg is None else
              float(learner.train_segment(*padded_segment(seg, state, tmax), lr))
              for state, seg in zip(states, segments)]
    batch = np.zeros((batch_size_for(len(states)), *states[0].shape), np.uint8)
    batch[:len(states)] = states
    q, target_max = learner.act(batch)
    q, target_max = q.numpy(), target_max.numpy()
    return [(q[i], float(target_max[i]), losses[i]) for i in range(len(states))]


class DirectDispatcher:
    """Each learner thread runs its own calls (lock-free concurrent updates)."""

    def __init__(self, learner, learning_rate_fn, tmax):
        self._learner, self._lr, self._tmax = learner, learning_rate_fn, tmax

    def request(self, state, segment):
        """Applies `segment` (or None), then returns (Q-values of `state`, max Q_target, loss)."""
        return _run_step(self._learner, self._lr(), [state], [segment], self._tmax)[0]

    def start(self):
        pass

    def close(self):
        pass


class _Request:
    __slots__ = ("state", "segment", "result", "error", "done")

    def __init__(self, state, segment):
        self.state, self.segment = state, segment
        self.result = self.error = None
        self.done = threading.Event()


class BatchingDispatcher:
    """`servers` server threads answer the requests of all learner threads, batched per call."""

    def __init__(self, learner, learning_rate_fn, tmax, servers=1):
        self._learner, self._lr, self._tmax = learner, learning_rate_fn, tmax
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

    def request(self, state, segment):
        """Applies `segment` (or None), then returns (Q-values of `state`, max Q_target, loss)."""
        req = _Request(state, segment)
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
                results = _run_step(self._learner, self._lr(), [r.state for r in batch],
                                    [r.segment for r in batch], self._tmax)
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
