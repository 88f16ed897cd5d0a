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
        self.step = tf.function(self._step, input_signature=[
            state_spec, tf.TensorSpec([None, None, *self.input_shape], tf.uint8),
            tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32),
            tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([], tf.float32)])
        self.sync_target = tf.function(self._sync_target, input_signature=[])
        self.sync_target()

    def trace(self):
        """Traces every tf.function without running it (no weights or slots change)."""
        for fn in (self.act, self.q_values, self.train, self.step, self.sync_target):
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

    def _apply_segment(self, states, actions, targets, mask, learning_rate):
        """One update of the shared weights from one thread's segment; returns its loss.

        The loss is sum_i mask_i * (y_i - Q(s_i, a_i))^2 over the segment: the
        paper's per-transition gradients accumulated over the segment, applied once.
        """
        with tf.GradientTape() as tape:
            q = self.online(states, training=True)
            chosen = tf.gather(q, actions, axis=1, batch_dims=1)
            loss = tf.reduce_sum(mask * tf.square(targets - chosen))
        grads = tape.gradient(loss, self.online.trainable_variables)
        self.optimizer.learning_rate.assign(learning_rate)
        self.optimizer.apply_gradients(zip(grads, self.online.trainable_variables))
        return loss

    def _train(self, states, actions, targets, learning_rate):
        """One update from a segment of transitions with complete targets y."""
        return self._apply_segment(states, actions, targets, tf.ones_like(targets), learning_rate)

    def _step(self, states, seg_states, seg_actions, seg_targets, seg_bootstrap, seg_boot_index,
              seg_mask, learning_rate):
        """Applies K segment updates one after another, then acts on `states`: one call.

        Args:
          states: [B, 84, 84, K] the states the calling threads act on next.
          seg_states, seg_actions: [S, T, ...] and [S, T], S segments padded to T steps.
          seg_targets: [S, T] targets y, except that the bootstrap of each
            segment's last transition is left out: the full target is
            seg_targets + seg_bootstrap * max_a Q_target(states[seg_boot_index], a).
          seg_bootstrap: [S, T] gamma at a segment's last transition when it is
            not terminal, else 0.
          seg_boot_index: [S] row of `states` that is the last transition's s'.
          seg_mask: [S, T] 1 for real transitions, 0 for padding.
          learning_rate: scalar.
        Returns:
          Online Q-values of `states` after the updates [B, A], the target
          network's max over actions of `states` [B], and the losses [S].
        """
        target_max = tf.reduce_max(self.target(states, training=False), axis=1)
        targets = seg_targets + seg_bootstrap * tf.gather(target_max, seg_boot_index)[:, None]
        num_segments = tf.shape(seg_states)[0]
        losses = tf.TensorArray(tf.float32, size=num_segments)
        for k in tf.range(num_segments):
            losses = losses.write(k, self._apply_segment(
                seg_states[k], seg_actions[k], targets[k], seg_mask[k], learning_rate))
        q = self.online(states, training=False)
        return q, target_max, losses.stack()

    def _sync_target(self):
        for target_var, online_var in zip(self.target.weights, self.online.weights):
            target_var.assign(online_var)
        return tf.constant(True)

    def checkpoint_items(self):
        """The trackable objects a checkpoint of this learner must hold."""
        return dict(online=self.online, target=self.target, optimizer=self.optimizer)
