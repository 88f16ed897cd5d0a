"""The parts every asynchronous agent shares, behind the interface of `interface.Agent`.

`Agent` below compiles `act`, `update` and `gradients` (the update without applying it, for
worker processes) from a subclass's `_act`, `_act_signature`, `_update_signature` and `_update`
(which ends in `self._finish(...)`), and warms them up; `SegmentPlayer` keeps a thread's
transitions until `tmax` of them or a terminal; `Segment` holds them.
"""

import numpy as np
import tensorflow as tf

from async_deeprl.agents import interface


class Segment:
    """One thread's transitions since its last update, as parallel lists.

    `next_q` holds the target network's Q-values of each transition's s' where
    the agent needs them (None until known); `next_actions` the action taken at
    s' (SARSA).
    """

    def __init__(self):
        self.states, self.actions, self.rewards, self.terminals = [], [], [], []
        self.next_q, self.next_actions = [], []

    def add(self, state, action, reward, terminal):
        self.states.append(state)
        self.actions.append(action)
        self.rewards.append(reward)
        self.terminals.append(float(terminal))
        self.next_q.append(None)
        self.next_actions.append(0)

    def __len__(self):
        return len(self.states)


def pad(values, length, dtype, shape=()):
    """`values` (a list, None entries as zeros) in a zero array of `length` rows."""
    out = np.zeros((length, *shape), dtype)
    for i, v in enumerate(values):
        if v is not None:
            out[i] = v
    return out


def mask_of(n, length):
    """1.0 for the first `n` of `length` positions, then 0.0 (padding)."""
    return (np.arange(length) < n).astype(np.float32)


def segment_signature(input_shape):
    """TensorSpecs of `padded_segment`'s arrays: states, actions, rewards, terminals."""
    vector = lambda dtype: tf.TensorSpec([None], dtype)  # noqa: E731
    return [tf.TensorSpec([None, *input_shape], tf.uint8), vector(tf.int32),
            vector(tf.float32), vector(tf.float32)]


def padded_segment(segment, length, input_shape):
    """A segment's states, actions, rewards and terminals, each zero-padded to `length` rows
    (so that one compiled update serves every segment length)."""
    return (pad(segment.states, length, np.uint8, input_shape),
            pad(segment.actions, length, np.int32),
            pad(segment.rewards, length, np.float32),
            pad(segment.terminals, length, np.float32))


def bootstrapped_update_signature(input_shape):
    """Signature of an update that computes its own returns from a padded segment, its mask
    and the state the segment ends at (bootstrapped there): n-step Q and A3C."""
    return [*segment_signature(input_shape), tf.TensorSpec([None], tf.float32),
            tf.TensorSpec(input_shape, tf.uint8), tf.TensorSpec([], tf.float32)]


def bootstrapped_update_args(segment, next_state, tmax, input_shape):
    """The arguments (without the learning rate) of an update with
    `bootstrapped_update_signature`."""
    return (*padded_segment(segment, tmax, input_shape), mask_of(len(segment), tmax), next_state)


def apply_if_finite(optimizer, variables, loss, grads, learning_rate, stats):
    """Applies `grads` at `learning_rate` unless the loss or gradient is not finite.

    Returns `stats` (a float32 vector, the loss first), or all NaN if the update
    was skipped: a non-finite update never reaches the shared weights or slots.
    """
    finite = tf.math.is_finite(loss) & tf.math.is_finite(tf.linalg.global_norm(grads))

    def apply():
        optimizer.learning_rate.assign(learning_rate)
        optimizer.apply_gradients(zip(grads, variables))
        return stats

    return tf.cond(finite, apply, lambda: tf.fill(tf.shape(stats), np.float32(np.nan)))


class Compiled:
    """A tf.function with a fixed input signature, called through its one concrete function.

    The concrete function (traced at the first call) skips tf.function's per-call
    argument matching: on a CPU that saved about 0.45 ms of a 5-transition update's
    ~5 ms and 0.2 ms of a 4-state acting call's ~2.5 ms (one-step Q, measured side by side).
    The runner makes one of each per agent step, so this is on the hot path.
    """

    def __init__(self, function):
        self.function = function
        self._concrete = None

    def __call__(self, *args):
        concrete = self._concrete
        if concrete is None:  # tf.function traces under its own lock: every thread gets one.
            concrete = self._concrete = self.function.get_concrete_function()
        return concrete(*args)


class SegmentPlayer:
    """A learner thread's segment: an update is due after `tmax` transitions or a terminal."""

    def __init__(self, agent):
        self.agent, self.tmax = agent, agent.config.tmax
        self.segment = Segment()  # the transitions since the thread's last update

    def acting_input(self, state):
        """What the acting call needs for `state`: the frame stack itself (a recurrent player
        adds its thread's state)."""
        return state

    def observe(self, state, action, reward, terminal):
        """Records one transition (reward already clipped)."""
        self.segment.add(state, action, reward, terminal)

    def take_update(self, next_state):
        """The update arguments of a finished segment (tmax transitions or a terminal), or None."""
        seg = self.segment
        if not seg.terminals[-1] and len(seg) < self.tmax:
            return None
        self.segment = Segment()
        return self.agent.update_args(seg, next_state)


class Agent(interface.Agent):
    """Compiles a subclass's acting and update calls; see the module docstring."""

    def __init__(self, num_actions, input_shape, config, xla=True):
        self.num_actions, self.input_shape, self.config = num_actions, tuple(input_shape), config
        self.xla = xla
        self._build()
        self.act = Compiled(tf.function(self._act, input_signature=self._act_signature(),
                                        jit_compile=xla))
        self.update = Compiled(tf.function(self._update, jit_compile=xla,
                                           input_signature=self._update_signature()))
        self._emit_gradients = False  # True only while `gradients` is traced
        self.gradients = tf.function(self._gradients, jit_compile=xla,
                                     input_signature=self._update_signature())
        self.apply_gradients = tf.function(self._apply_gradients, input_signature=[
            [tf.TensorSpec(v.shape, v.dtype) for v in self.trainable_variables],
            tf.TensorSpec([], tf.float32)])

    def _build(self):
        """Creates the networks (the trained one as `self.online`) and `self.optimizer`."""
        raise NotImplementedError

    @property
    def trainable_variables(self):
        return self.online.trainable_variables

    def _finish(self, loss, grads, learning_rate, stats):
        """The end of every `_update`: applies `grads` of `loss` (see `apply_if_finite`) and
        returns `stats`; while `gradients` is traced, returns (stats, grads) instead, stats all
        NaN if the loss or gradient is not finite."""
        if not self._emit_gradients:
            return apply_if_finite(self.optimizer, self.trainable_variables, loss, grads,
                                   learning_rate, stats)
        finite = tf.math.is_finite(loss) & tf.math.is_finite(tf.linalg.global_norm(grads))
        return tf.where(finite, stats, np.float32(np.nan)), grads

    def _gradients(self, *args):
        self._emit_gradients = True  # Runs at trace time only: `update` is unaffected.
        try:
            return self._update(*args)
        finally:
            self._emit_gradients = False

    def _apply_gradients(self, grads, learning_rate):
        self.optimizer.learning_rate.assign(learning_rate)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return tf.constant(True)

    def shared_models(self):
        """{name: Keras model} of the weights workers act with (the target network too)."""
        return dict(online=self.online)

    def get_weights(self):
        """{name: list of NumPy arrays} of `shared_models()`."""
        return {name: model.get_weights() for name, model in self.shared_models().items()}

    def set_weights(self, weights):
        """Loads what `get_weights` returned (any subset of the names)."""
        models = self.shared_models()
        for name, values in weights.items():
            models[name].set_weights(values)

    def thread_settings(self):
        """What `prepare_threads` chose per thread, for other processes (picklable)."""
        return None

    def set_thread_settings(self, settings):
        """Adopts another process's `thread_settings()` instead of calling `prepare_threads`."""
        del settings

    def _act(self, states):
        """Outputs of one acting call for a batch of states (a tuple of per-state arrays)."""
        raise NotImplementedError

    def _act_signature(self):
        """The inputs of `act`: a batch of frame stacks (a recurrent agent adds its states)."""
        return [tf.TensorSpec([None, *self.input_shape], tf.uint8)]

    def _update_signature(self):
        raise NotImplementedError

    def _update(self, *args):
        """The compiled update of one segment; returns its `update_stats` as a float32 vector."""
        raise NotImplementedError

    def sync_target(self):
        pass

    def warm_up(self, batch_sizes, update=True):
        """Compiles `update` for `config.tmax` transitions (if `update`) and `act` for each
        batch size.

        Changes no network weight: the update has an all-zero mask (zero gradient)
        at learning rate 0; only the optimizer's step count advances and its
        running squares decay once by rho. Call it before restoring a checkpoint.
        """
        if update:
            state = np.zeros(self.input_shape, np.uint8)
            self.update(*self.update_args(Segment(), state), np.float32(0.0))
        for size in batch_sizes:
            self.act(np.zeros((size, *self.input_shape), np.uint8))
