"""One slice of the shared model, for `--workers` runs with `--holder_shards` K > 1.

The holder's update work and its bytes are split across K `Shard` actors: each owns one
contiguous slice (`transport.bounds`) of the flat online weights, of the target network's and
of the optimizer's statistics (RMSProp's and Adam's are element-wise, so a slice updates alone
exactly as it would inside the whole). A worker clips each gradient by its global norm first
(`FlatAgent.clipped_gradients`, which a slice cannot do), sends every shard its slice, and puts
the new weights together from the K answers. The shards' optimizers clip nothing.
"""

import threading
import time

import keras
import numpy as np
import tensorflow as tf

from async_deeprl import network
from async_deeprl.distributed import transport


class Shard:
    """Slice [start, end) of the flat weights: `state` = dict(online=, target= (or None),
    iterations=, and each optimizer slot kind's flat slice), as `state()` returns it;
    `tf_threads`: this process's TensorFlow threads (None: leave them)."""

    def __init__(self, config, state, tf_threads=None):
        if tf_threads:
            transport.set_tf_threads(tf_threads)
        self._weights = keras.Variable(state["online"], name="flat")
        self._optimizer = network.make_optimizer(config.optimizer, config.lr, grad_clip_norm=0,
                                                 rmsprop_epsilon=config.rmsprop_epsilon)
        self._optimizer.build([self._weights])
        self._slots = {kind: slots[0] for kind, slots in
                       transport.optimizer_slots(self._optimizer, [self._weights]).items()}
        for kind, slot in self._slots.items():
            slot.assign(state[kind])
        self._optimizer.iterations.assign(state["iterations"])
        self._target = None if state["target"] is None else np.array(state["target"])
        self._version = 0  # target syncs so far
        self._lock = threading.Lock()
        self.updates, self.messages, self.bytes_in, self.busy_seconds = 0, 0, 0, 0.0

        def apply(rows, learning_rate):
            self._optimizer.learning_rate.assign(learning_rate)
            for i in tf.range(tf.shape(rows)[0]):  # each row its own update, in turn
                self._optimizer.apply_gradients([(rows[i], self._weights)])
            return tf.identity(self._weights.value)

        # One TF call per message, compiled with XLA unless --noxla, as the holder's
        # (`transport.FlatAgent.apply`).
        self._apply = tf.function(apply, jit_compile=config.xla, input_signature=[
            tf.TensorSpec([None, *self._weights.shape], tf.float32), tf.TensorSpec([], tf.float32)])

    def apply(self, gradients, learning_rate, known_version):
        """Applies each row of `gradients` ([k, slice size]) in turn at `learning_rate`, in one
        TF call; returns `read(known_version)` with the online slice after the last update."""
        start = time.perf_counter()
        gradients = np.asarray(gradients, np.float32)
        online = self._apply(gradients, np.float32(learning_rate)).numpy()
        answer = self.read(known_version, online)
        with self._lock:
            self.updates += len(gradients)
            self.messages += 1
            self.bytes_in += gradients.nbytes
            self.busy_seconds += time.perf_counter() - start
        return answer

    def read(self, known_version=-1, online=None):
        """(online slice, target slice or None when it has not synced since `known_version`,
        target version)."""
        if online is None:
            online = self._weights.numpy()
        with self._lock:
            version = self._version
            target = None if self._target is None or known_version == version else self._target
        return online, target, version

    def sync_target(self):
        """The target slice becomes the online slice (nothing for agents without a target)."""
        if self._target is None:
            return
        online = self._weights.numpy()
        with self._lock:
            self._target = online
            self._version += 1

    def state(self):
        """What the checkpoint needs of this slice (see the class docstring)."""
        with self._lock:
            target = self._target
        state = {kind: slot.numpy() for kind, slot in self._slots.items()}
        state.update(online=self._weights.numpy(), target=target,
                     iterations=int(self._optimizer.iterations.numpy()))
        return state

    def stats(self):
        with self._lock:
            return dict(updates=self.updates, messages=self.messages, bytes_in=self.bytes_in,
                        busy_seconds=self.busy_seconds)


def split_state(state, parts):
    """The whole model's `state` (as `Shard.state()` keys, full length) cut into `parts`."""
    cuts = transport.bounds(state["online"].size, parts)
    return [{key: (value if key == "iterations" or value is None else value[a:b])
             for key, value in state.items()} for a, b in cuts]


def join_states(states):
    """The inverse of `split_state`; the step count of the first shard."""
    joined = {key: (None if states[0][key] is None else np.concatenate([s[key] for s in states]))
              for key in states[0] if key != "iterations"}
    joined["iterations"] = states[0]["iterations"]
    return joined
