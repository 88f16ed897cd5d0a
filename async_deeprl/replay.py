"""DQN's replay buffer: each preprocessed frame stored once, stacked states rebuilt on sampling.

Every acting thread writes its own stream (a ring of `capacity // streams`
slots), so consecutive slots of a stream are consecutive steps of one thread.
A slot holds the newest frame of a state s_t, its position in the episode,
and the transition taken from it (a_t, r_t, terminal_t). The stacked state of
slot i is the frames of slots i-3..i, where frames before the episode's first
repeat that first frame, exactly as `preprocessing.FrameStack` builds it after
a reset. s_{t+1} is the state of slot i+1 (used only when terminal_t is 0; a
game over's next slot is the new game's first state). Sampling is uniform over
the slots whose transition and next state are stored and whose stack was not
overwritten.

A draw comes back as one window of memory_len + 1 frames, channels first:
s_t is its first memory_len frames and s_{t+1} its last memory_len (`split`),
so a minibatch is one contiguous uint8 array the update splits and transposes
inside its compiled call. Building two channels-last stacks in NumPy instead
gives strided arrays that cost ~20 ms more per Pong minibatch of 32 to hand
to TensorFlow (measured on 2 Xeon cores: the update alone 43 ms on the strided
arrays, 23 ms on contiguous copies of them; sampling plus update 33 ms before
this layout, 22.6 ms with it). When
terminal_t is 1 the window's s_{t+1} is not a real state; its target does not
bootstrap from it.
"""

import threading

import numpy as np

from async_deeprl.preprocessing import OBS_SIZE

# One slot: its frame, position (int64), action (int32), reward and terminal (float32).
BYTES_PER_TRANSITION = OBS_SIZE * OBS_SIZE + 8 + 4 + 4 + 4


def available_memory():
    """Bytes of memory the machine can still give without swapping (Linux's MemAvailable),
    or None where /proc/meminfo does not tell."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class ReplayBuffer:
    """Uniform replay over `streams` rings of `capacity // streams` transitions in total."""

    def __init__(self, capacity, streams=1, memory_len=4, size=OBS_SIZE):
        if capacity // streams < memory_len + 2:
            raise ValueError(f"replay capacity {capacity} is too small for {streams} streams")
        self.ring = capacity // streams
        self.streams, self.memory_len = streams, memory_len
        self.frames = np.zeros((streams, self.ring, size, size), np.uint8)
        self.position = np.zeros((streams, self.ring), np.int64)  # steps since the episode began
        self.actions = np.zeros((streams, self.ring), np.int32)
        self.rewards = np.zeros((streams, self.ring), np.float32)
        self.terminals = np.zeros((streams, self.ring), np.float32)
        self.written = np.zeros(streams, np.int64)  # slots written so far, per stream
        self._last = [None] * streams  # each stream's newest stacked state
        self._lock = threading.Lock()

    @property
    def nbytes(self):
        return sum(a.nbytes for a in (self.frames, self.position, self.actions, self.rewards,
                                      self.terminals))

    def __len__(self):
        """Transitions that can be sampled now."""
        return int(sum(self._valid_count(s) for s in range(self.streams)))

    def add(self, stream, state, action, reward, terminal):
        """Stores the transition taken from stacked `state` ([size, size, memory_len] uint8).

        `state` either continues the stream's previous state (its older frames are
        that state's newer ones) or starts an episode (all frames equal).
        """
        state = np.asarray(state)
        last = self._last[stream]
        if last is not None and np.array_equal(state[..., :-1], last[..., 1:]):
            position = None  # continues: one more than the previous slot's
        elif all(np.array_equal(state[..., k], state[..., -1]) for k in range(state.shape[-1] - 1)):
            position = 0
        else:
            raise ValueError("a state that neither continues the stream nor starts an episode")
        with self._lock:
            n = self.written[stream]
            slot = n % self.ring
            if position is None:
                position = self.position[stream, (n - 1) % self.ring] + 1
            self.frames[stream, slot] = state[..., -1]
            self.position[stream, slot] = position
            self.actions[stream, slot] = action
            self.rewards[stream, slot] = reward
            self.terminals[stream, slot] = terminal
            self.written[stream] = n + 1
        self._last[stream] = state

    def _valid_count(self, stream):
        n = self.written[stream]
        # The newest slot has no stored next state; when the ring has wrapped, the oldest
        # memory_len - 1 slots may stack frames that were overwritten.
        return max(n - 1, 0) if n <= self.ring else self.ring - self.memory_len

    def _first_valid(self, stream):
        n = self.written[stream]
        return 0 if n <= self.ring else n - self.ring + self.memory_len - 1

    def _windows(self, streams, counts):
        """Frame windows of stream slots `counts` (write counts, not ring slots):
        [B, memory_len + 1, size, size], the state of each slot then its successor's newest
        frame. The successor continues the slot's episode unless the slot is a game over."""
        m = self.memory_len
        back = np.minimum(np.arange(m, -1, -1)[None, :],
                          self.position[streams, counts % self.ring][:, None] + 1)
        rows = (counts[:, None] + 1 - back) % self.ring
        return self.frames[streams[:, None], rows]

    def sample(self, batch_size, rng):
        """(windows, actions, rewards, terminals) of `batch_size` uniform draws; `split(windows)`
        gives the (states, next states) they hold."""
        with self._lock:
            valid = np.array([self._valid_count(s) for s in range(self.streams)])
            if valid.sum() == 0:
                raise ValueError("the replay buffer holds no complete transition yet")
            draws = rng.integers(valid.sum(), size=batch_size)
            streams = np.searchsorted(np.cumsum(valid), draws, side="right")
            offsets = draws - (np.cumsum(valid) - valid)[streams]
            counts = np.array([self._first_valid(s) for s in range(self.streams)])[streams] + offsets
            slots = counts % self.ring
            return (self._windows(streams, counts), self.actions[streams, slots].copy(),
                    self.rewards[streams, slots].copy(), self.terminals[streams, slots].copy())


def split(windows):
    """(states, next states), channels last, of frame windows [B, m + 1, H, W] (NumPy; the
    agent does the same inside its update)."""
    windows = np.asarray(windows)
    return np.moveaxis(windows[:, :-1], 1, -1), np.moveaxis(windows[:, 1:], 1, -1)


def windows_of(states, next_states):
    """The frame windows of stacked (state, next state) pairs, channels last [B, H, W, m]:
    each state's frames then its next state's newest (the inverse of `split` for a next
    state that continues its state)."""
    states, next_states = np.asarray(states), np.asarray(next_states)
    return np.concatenate([np.moveaxis(states, -1, 1), next_states[None, ..., -1].swapaxes(0, 1)],
                          axis=1)
