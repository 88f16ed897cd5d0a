"""How learner threads reach TensorFlow.

A learner thread makes one request per agent step: "apply my finished segment
(if any), then give me the Q-values of my next state and the target network's
max over actions of it". Two dispatchers answer it with the same
`QLearner.step` function:

- `DirectDispatcher`: the calling thread runs the step itself. Threads update
  the shared weights concurrently without a lock, as in the paper.
- `BatchingDispatcher`: one server thread runs every step; the requests of all
  threads that wait at the same moment go into one call, in which each
  thread's segment is still its own update, applied one after another, and
  every thread then acts on the updated weights. TensorFlow's fixed cost per
  call (about 1 ms on a CPU) is paid once per batch instead of once per thread.
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


def pack(states, segments, tmax):
    """Stacks the requests of one call into the arrays of `QLearner.step`.

    Args:
      states: list of B states, each (84, 84, K) uint8.
      segments: list of B `Segment`s or None; a segment's bootstrap state is
        the state of the same request.
      tmax: segments are padded to this many transitions.
    Returns:
      The positional arguments of `QLearner.step` except the learning rate.
    """
    rows = [i for i, seg in enumerate(segments) if seg is not None]
    shape = states[0].shape
    seg_states = np.zeros((len(rows), tmax, *shape), np.uint8)
    seg_actions = np.zeros((len(rows), tmax), np.int32)
    seg_targets = np.zeros((len(rows), tmax), np.float32)
    seg_bootstrap = np.zeros((len(rows), tmax), np.float32)
    seg_mask = np.zeros((len(rows), tmax), np.float32)
    for k, i in enumerate(rows):
        seg = segments[i]
        n = len(seg)
        seg_states[k, :n] = seg.states
        seg_actions[k, :n] = seg.actions
        seg_targets[k, :n] = seg.targets
        seg_bootstrap[k, n - 1] = seg.bootstrap
        seg_mask[k, :n] = 1.0
    return (np.stack(states), seg_states, seg_actions, seg_targets, seg_bootstrap,
            np.asarray(rows, np.int32), seg_mask)


def _run_step(learner, learning_rate, states, segments, tmax):
    """Runs one `QLearner.step` call; returns one (q, target_max, loss or None) per request."""
    q, target_max, losses = learner.step(*pack(states, segments, tmax), np.float32(learning_rate))
    q, target_max, losses = q.numpy(), target_max.numpy(), losses.numpy()
    results, k = [], 0
    for i, seg in enumerate(segments):
        loss = None
        if seg is not None:
            loss, k = float(losses[k]), k + 1
        results.append((q[i], float(target_max[i]), loss))
    return results


class DirectDispatcher:
    """Each learner thread runs its own step call (lock-free concurrent updates)."""

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
    """One server thread answers the requests of all learner threads, batched per call."""

    def __init__(self, learner, learning_rate_fn, tmax):
        self._learner, self._lr, self._tmax = learner, learning_rate_fn, tmax
        self._cond = threading.Condition()
        self._queue = []
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="tf-server", daemon=True)
        self.calls = 0  # step calls made, for the mean batch size
        self.requests = 0
        self.busy_seconds = 0.0  # time spent inside step calls

    def start(self):
        self._thread.start()

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
        if self._thread.is_alive():
            self._thread.join()
