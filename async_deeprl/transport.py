"""What crosses between the holder and the workers of a `--workers` run (`distributed.py`).

Every message holds one flat float32 array per gradient and per network's weights,
in the order of the agent's variables, instead of a list of one array per variable:
Ray moves one large buffer much faster than several (a 2.7 MB gradient sent to an actor
as 8 arrays: 5.5 ms per call, as one array: 2.2 ms; 2 cores of an AMD EPYC, Ray 2.60).
Flattening and splitting run inside compiled TF calls, one call per message.
"""

import numpy as np
import tensorflow as tf


def _sizes(variables):
    return [int(np.prod(v.shape)) for v in variables]


def _flatten(tensors):
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)


def _split(flat, variables):
    parts = tf.split(flat, _sizes(variables))
    return [tf.reshape(p, v.shape) for p, v in zip(parts, variables)]


def _reader(variables):
    return tf.function(lambda: _flatten(variables))


def _writer(variables):
    def assign(flat):
        for variable, part in zip(variables, _split(flat, variables)):
            variable.assign(part)
        return tf.constant(True)

    return tf.function(assign, input_signature=[tf.TensorSpec([sum(_sizes(variables))],
                                                              tf.float32)])


class FlatAgent:
    """An agent's gradients, updates and shared weights as flat float32 arrays.

    `gradients(*update_args, lr)` -> (stats, flat gradient); `apply(flat, lr)` applies a
    flat gradient with the agent's optimizer and returns the new online weights (one call);
    `weights(names)` -> {name: flat weights} of those of `agent.shared_models()` (all when
    `names` is None);
    `set_weights({name: flat})` loads them.
    """

    def __init__(self, agent):
        self._agent = agent
        self._models = agent.shared_models()
        trainable = agent.trainable_variables
        size = sum(_sizes(trainable))
        self._flatten_grads = tf.function(
            _flatten, input_signature=[[tf.TensorSpec(v.shape, v.dtype) for v in trainable]])
        online = self._models["online"].weights

        def apply(flat, learning_rate):
            with tf.control_dependencies([agent.apply_gradients(_split(flat, trainable),
                                                                learning_rate)]):
                return _flatten(online)

        self._apply = tf.function(apply, input_signature=[tf.TensorSpec([size], tf.float32),
                                                          tf.TensorSpec([], tf.float32)])
        self._read = {name: _reader(model.weights) for name, model in self._models.items()}
        self._write = {name: _writer(model.weights) for name, model in self._models.items()}

    def gradients(self, *args):
        stats, grads = self._agent.gradients(*args)
        return stats, self._flatten_grads(grads)

    def apply(self, flat, learning_rate):
        return self._apply(flat, learning_rate).numpy()

    def weights(self, names=None):
        return {name: self._read[name]().numpy()
                for name in (self._models if names is None else names)}

    def set_weights(self, weights):
        for name, flat in weights.items():
            self._write[name](flat)
