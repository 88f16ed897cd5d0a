"""What crosses between the holder and the workers of a `--workers` run.

Every message holds one flat float32 array per gradient and per network's weights,
in the order of the agent's variables, instead of a list of one array per variable:
Ray moves one large buffer much faster than several (a 2.7 MB gradient sent to an actor
as 8 arrays: 5.5 ms per call, as one array: 2.2 ms; 2 cores of an AMD EPYC, Ray 2.60).
Flattening and splitting run inside compiled TF calls, one call per message.

With `--holder_shards` K > 1 the flat arrays are cut into K contiguous slices (`bounds`),
each owned by one `shards.Shard` actor with its slice of the optimizer's statistics
(`optimizer_state`: each slot kind of the optimizer, flattened in the variables' order).
A worker sends its gradients `--gradients_per_message` at a time (`GradientBatcher`).
"""

import os
import threading

import numpy as np
import tensorflow as tf

from async_deeprl.agents.base import Compiled


def tf_threads_of(config):
    """TensorFlow intra-/inter-op threads of each process of a run: its share of the cores."""
    if config.tf_threads:
        return config.tf_threads
    return max(1, (os.cpu_count() or 1) // config.workers)


def set_tf_threads(n):
    """TensorFlow's intra- and inter-op threads of this process; before any op runs in it."""
    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)


def _sizes(variables):
    return [int(np.prod(v.shape)) for v in variables]


def flatten(tensors):
    """The tensors as one flat vector, in order (inside a TF function)."""
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)


def split(flat, variables):
    """`flatten`'s inverse: the flat vector cut into tensors of the variables' shapes."""
    parts = tf.split(flat, _sizes(variables))
    return [tf.reshape(p, v.shape) for p, v in zip(parts, variables)]


def _reader(variables):
    return tf.function(lambda: flatten(variables))


def _writer(variables):
    def assign(flat):
        for variable, part in zip(variables, split(flat, variables)):
            variable.assign(part)
        return tf.constant(True)

    return tf.function(assign, input_signature=[tf.TensorSpec([sum(_sizes(variables))],
                                                              tf.float32)])


SLOT_KINDS = ("momentum", "velocity", "average_gradient")  # Keras' names for optimizer slots


def bounds(size, parts):
    """[(start, end)] of `parts` contiguous slices of `size` elements, sizes differing by 1 at most."""
    edges = [size * k // parts for k in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


def optimizer_slots(optimizer, variables):
    """{kind: [the slot of each of `variables`, in order]} of a built Keras optimizer (RMSprop:
    velocity; Adam: momentum and velocity), found by the names Keras gives its slots."""
    by_name = {v.name: v for v in optimizer.variables}
    slots = {}
    for kind in SLOT_KINDS:
        found = [by_name.get(f"{v.path.replace('/', '_')}_{kind}") for v in variables]
        if any(slot is not None for slot in found):
            if any(slot is None for slot in found):
                raise ValueError(f"the optimizer's {kind} slots do not match its variables")
            slots[kind] = found
    if not slots:
        raise ValueError(f"no slots of {type(optimizer).__name__} found (built?)")
    return slots


def _flat_gradients(agent, clip):
    """(stats, flat gradient) of `agent.gradients`, the gradient clipped to global norm `clip`
    first (None: not), in one compiled call (with XLA as the agent's update) called through its
    concrete function: a worker's one TF call per finished segment. One call instead of the
    gradient's then the flattening's: 4.7-5.1 against 6.4-7.3 ms per 5-transition one-step Q
    segment (`tools/gradient_bench.py`: Atari network, one TF thread, 2 Intel Xeon cores)."""
    gradients = agent.gradients

    def flat(*args):
        stats, grads = gradients(*args)
        return stats, flatten(tf.clip_by_global_norm(grads, clip)[0] if clip else grads)

    return Compiled(tf.function(flat, jit_compile=agent.xla,
                                input_signature=gradients.input_signature))


class FlatAgent:
    """An agent's gradients, updates and shared weights as flat float32 arrays.

    `gradients(*update_args, lr)` -> (stats, flat gradient); `apply(rows, lr)` applies k flat
    gradients ([k, size]) in turn with the agent's optimizer and returns the new online weights
    (one compiled call);
    `weights(names)` -> {name: flat weights} of those of `agent.shared_models()` (all when
    `names` is None);
    `set_weights({name: flat})` loads them;
    `clipped_gradients(*update_args, lr)`: as `gradients`, the gradient first clipped by its
    global norm as the agent's optimizer would (`global_clipnorm`; for a holder whose optimizer
    sees only a slice of it);
    `optimizer_state()` -> {"iterations": step count, kind: flat slot} and
    `set_optimizer_state(state)`: the optimizer's statistics as flat arrays.
    """

    def __init__(self, agent):
        self._agent = agent
        self._models = agent.shared_models()
        trainable = agent.trainable_variables
        size = sum(_sizes(trainable))
        online = self._models["online"].weights

        def apply(rows, learning_rate):
            for i in tf.range(tf.shape(rows)[0]):  # each row its own update, in turn
                agent.apply_gradients(split(rows[i], trainable), learning_rate)
            return flatten(online)

        # One compiled call for all the rows of a message, with XLA as the agent's own update:
        # 1.9 against 4.3 ms per update for 8 rows applied one call each (RMSProp, Atari
        # network, one TF thread, 2 cores of an AMD EPYC).
        self._apply = tf.function(apply, jit_compile=agent.xla, input_signature=[
            tf.TensorSpec([None, size], tf.float32), tf.TensorSpec([], tf.float32)])
        self._read = {name: _reader(model.weights) for name, model in self._models.items()}
        self._write = {name: _writer(model.weights) for name, model in self._models.items()}
        self._gradients = _flat_gradients(agent, clip=None)
        self._clipped_gradients = _flat_gradients(agent, clip=agent.optimizer.global_clipnorm)
        self._trainable = trainable

    def _slots(self):
        return optimizer_slots(self._agent.optimizer, self._trainable)

    def clipped_gradients(self, *args):
        return self._clipped_gradients(*args)

    def optimizer_state(self):
        state = {kind: flatten(slots).numpy() for kind, slots in self._slots().items()}
        state["iterations"] = int(self._agent.optimizer.iterations.numpy())
        return state

    def set_optimizer_state(self, state):
        for kind, slots in self._slots().items():
            for slot, part in zip(slots, split(tf.constant(state[kind]), slots)):
                slot.assign(part)
        self._agent.optimizer.iterations.assign(state["iterations"])

    def gradients(self, *args):
        return self._gradients(*args)

    def apply(self, rows, learning_rate):
        """Applies each row of `rows` ([k, size] flat gradients) in turn, in one TF call;
        returns the online weights after the last."""
        return self._apply(rows, learning_rate).numpy()

    def weights(self, names=None):
        return {name: self._read[name]().numpy()
                for name in (self._models if names is None else names)}

    def set_weights(self, weights):
        for name, flat in weights.items():
            self._write[name](flat)


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
