"""Asynchronous one-step Q-learning: the target helper and the shared learner.

`QLearner` owns the shared online network, the target network and the shared
optimizer. Its callers (the TF server threads, or the learner threads with
`--tf_servers 0`) run it concurrently without a lock, as the paper's lock-free
asynchronous updates do; TensorFlow runs each call without the GIL.
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

    `act`, `q_values` and `train_segment` are tf.functions compiled with XLA,
    which on a CPU cuts the fixed cost of each call and of each op of these
    small networks (measured: a 5-transition update ~10 ms -> ~7 ms). XLA
    compiles once per input shape, so callers pad batches to a few sizes and
    segments to `tmax` (see `dispatch`).
    """

    def __init__(self, num_actions, input_shape=(84, 84, 4), optimizer="rmsprop",
                 learning_rate=7e-4, grad_clip_norm=40.0, xla=True):
        self.num_actions = num_actions
        self.input_shape = tuple(input_shape)
        self.online = network.build_q_network(num_actions, input_shape, name="online")
        self.target = network.build_q_network(num_actions, input_shape, name="target")
        self.optimizer = network.make_optimizer(optimizer, learning_rate, grad_clip_norm)
        self.optimizer.build(self.online.trainable_variables)
        batch = tf.TensorSpec([None, *self.input_shape], tf.uint8)
        vector = lambda dtype: tf.TensorSpec([None], dtype)
        scalar = tf.TensorSpec([], tf.float32)
        self.act = tf.function(self._act, input_signature=[batch], jit_compile=xla)
        self.q_values = tf.function(self._q_values, input_signature=[batch], jit_compile=xla)
        self.train_segment = tf.function(self._train_segment, jit_compile=xla, input_signature=[
            batch, vector(tf.int32), vector(tf.float32), vector(tf.float32), vector(tf.float32),
            tf.TensorSpec(self.input_shape, tf.uint8), scalar])
        self.sync_target = tf.function(self._sync_target, input_signature=[])
        self.sync_target()

    def train(self, states, actions, targets, learning_rate):
        """One update from a segment whose targets y are complete; returns the loss."""
        targets = np.asarray(targets, np.float32)
        zeros = np.zeros_like(targets)
        return self.train_segment(states, actions, targets, zeros, np.ones_like(targets),
                                  np.zeros(self.input_shape, np.uint8), learning_rate)

    def warm_up(self, tmax, batch_sizes):
        """Compiles `train_segment` for `tmax` steps and `act` for each batch size.

        Runs them without changing any network weight: the update has an all-zero
        mask (zero gradient) and learning rate 0. Only the optimizer's step count
        advances and its running squares decay once by rho; call this before
        restoring a checkpoint.
        """
        states = np.zeros((tmax, *self.input_shape), np.uint8)
        zeros = np.zeros(tmax, np.float32)
        self.train_segment(states, zeros.astype(np.int32), zeros, zeros, zeros, states[0],
                           np.float32(0.0))
        for size in batch_sizes:
            self.act(np.zeros((size, *self.input_shape), np.uint8))
        self.q_values(np.zeros((1, *self.input_shape), np.uint8))

    def _q_values(self, states):
        return self.online(states, training=False)

    def _act(self, states):
        """Online Q-values of `states` and the target network's max over actions, in one call.

        The max bootstraps the transitions whose s' is one of `states`; the
        Q-values pick the next epsilon-greedy actions.
        """
        q = self.online(states, training=False)
        target_max = tf.reduce_max(self.target(states, training=False), axis=1)
        return q, target_max

    def _train_segment(self, states, actions, targets, bootstrap, mask, next_state, learning_rate):
        """One update of the shared weights from one thread's segment; returns its loss.

        y_i = targets_i + bootstrap_i * max_a Q_target(next_state, a): `bootstrap`
        is gamma at the segment's last transition unless it is terminal, else 0,
        and `next_state` is that transition's s'. The loss is
        sum_i mask_i * (y_i - Q(s_i, a_i))^2 (padding has mask 0): the paper's
        per-transition gradients accumulated over the segment, applied once
        through the shared optimizer. A segment whose loss or gradient is not
        finite is skipped (NaN is returned) and changes nothing.
        """
        next_max = tf.reduce_max(self.target(next_state[None], training=False))
        y = targets + bootstrap * next_max
        with tf.GradientTape() as tape:
            q = self.online(states, training=True)
            chosen = tf.gather(q, actions, axis=1, batch_dims=1)
            loss = tf.reduce_sum(mask * tf.square(y - chosen))
        grads = tape.gradient(loss, self.online.trainable_variables)
        finite = tf.math.is_finite(loss) & tf.math.is_finite(tf.linalg.global_norm(grads))

        def apply():
            self.optimizer.learning_rate.assign(learning_rate)
            self.optimizer.apply_gradients(zip(grads, self.online.trainable_variables))
            return loss

        # A non-finite loss or gradient never reaches the shared weights or slots;
        # the caller sees the non-finite loss and counts it.
        return tf.cond(finite, apply, lambda: tf.where(finite, loss, np.float32(np.nan)))

    def _sync_target(self):
        for target_var, online_var in zip(self.target.weights, self.online.weights):
            target_var.assign(online_var)
        return tf.constant(True)

    def checkpoint_items(self):
        """The trackable objects a checkpoint of this learner must hold."""
        return dict(online=self.online, target=self.target, optimizer=self.optimizer)
