"""Asynchronous one-step Q-learning: the target helper and the shared learner.

`QLearner` owns the shared online network, the target network and the shared
optimizer. Learner threads call it concurrently without a lock (the paper's
lock-free asynchronous updates); TensorFlow runs each call without the GIL.
"""

import numpy as np
import tensorflow as tf

from async_deeprl import network


def one_step_targets(rewards, next_max_q, terminals, gamma):
    """y = r + gamma * max_a Q_target(s', a); y = r where s' is terminal.

    Args:
      rewards: rewards already clipped to [-1, 1], shape [B].
      next_max_q: max over actions of the target network at s', shape [B].
      terminals: 1 where s' ends the learning episode (game over or, in
        training, a lost life), else 0; shape [B].
      gamma: discount in [0, 1].
    Returns:
      float32 array of shape [B].
    """
    rewards = np.asarray(rewards, np.float32)
    not_done = 1.0 - np.asarray(terminals, np.float32)
    return rewards + np.float32(gamma) * not_done * np.asarray(next_max_q, np.float32)


class QLearner:
    """Shared online and target Q-networks with one shared optimizer.

    Methods are tf.functions traced once for a [None, 84, 84, K] uint8 batch.
    """

    def __init__(self, num_actions, input_shape=(84, 84, 4), optimizer="rmsprop",
                 learning_rate=7e-4, grad_clip_norm=40.0):
        self.num_actions = num_actions
        self.input_shape = tuple(input_shape)
        self.online = network.build_q_network(num_actions, input_shape, name="online")
        self.target = network.build_q_network(num_actions, input_shape, name="target")
        self.optimizer = network.make_optimizer(optimizer, learning_rate, grad_clip_norm)
        self.optimizer.build(self.online.trainable_variables)
        state_spec = tf.TensorSpec([None, *self.input_shape], tf.uint8)
        self.act = tf.function(self._act, input_signature=[state_spec])
        self.q_values = tf.function(self._q_values, input_signature=[state_spec])
        self.train = tf.function(self._train, input_signature=[
            state_spec, tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([], tf.float32)])
        self.sync_target = tf.function(self._sync_target, input_signature=[])
        self.sync_target()

    def trace(self):
        """Traces every tf.function without running it (no weights or slots change)."""
        for fn in (self.act, self.q_values, self.train, self.sync_target):
            fn.get_concrete_function()

    def _q_values(self, states):
        return self.online(states, training=False)

    def _act(self, states):
        """Online Q-values of `states` and the target network's max over actions, in one call.

        The max bootstraps the previous transition of the thread (whose s' is
        `states`); the Q-values pick the next epsilon-greedy action.
        """
        q = self.online(states, training=False)
        target_max = tf.reduce_max(self.target(states, training=False), axis=1)
        return q, target_max

    def _train(self, states, actions, targets, learning_rate):
        """One asynchronous update from a thread's segment of up to tmax transitions.

        The loss is the sum over the segment of (y - Q(s, a))^2, i.e. the
        paper's gradient accumulated over the segment, applied once.
        Returns the loss before the update.
        """
        with tf.GradientTape() as tape:
            q = self.online(states, training=True)
            chosen = tf.gather(q, actions, axis=1, batch_dims=1)
            loss = tf.reduce_sum(tf.square(targets - chosen))
        grads = tape.gradient(loss, self.online.trainable_variables)
        self.optimizer.learning_rate.assign(learning_rate)
        self.optimizer.apply_gradients(zip(grads, self.online.trainable_variables))
        return loss

    def _sync_target(self):
        for target_var, online_var in zip(self.target.weights, self.online.weights):
            target_var.assign(online_var)
        return tf.constant(True)

    def checkpoint_items(self):
        """The trackable objects a checkpoint of this learner must hold."""
        return dict(online=self.online, target=self.target, optimizer=self.optimizer)
