"""Asynchronous one-step Q-learning (the paper's algorithm 1).

Each thread acts epsilon-greedily on the shared online network and, every
`tmax` transitions or at a terminal, applies one update with targets
y = r + gamma * max_a Q_target(s', a) (`targets.q_learning_targets`). Every
acting call also returns the target network's Q-values of the state, which
bootstrap the transition that led there; the last transition of a segment is
bootstrapped inside the update call, from the state the thread acts on next.
"""

import numpy as np
import tensorflow as tf

from async_deeprl import targets
from async_deeprl.agents import base
from async_deeprl.agents.base import mask_of, pad
from async_deeprl.agents.value_based import EpsilonGreedyPlayer, ValueAgent


class Player(EpsilonGreedyPlayer):
    def act(self, outputs, step):
        q, target_q = outputs
        seg = self.segment
        if len(seg) and seg.next_q[-1] is None:  # The transition that led to this state.
            seg.next_q[-1] = target_q
        return self.choose(q, step)


class Agent(ValueAgent):
    name = "one_step_q"
    player_class = Player

    def _act(self, states):
        return self.online(states, training=False), self.target(states, training=False)

    def _update_signature(self):
        return [*base.segment_signature(self.input_shape),
                tf.TensorSpec([None, self.num_actions], tf.float32),  # next_q
                tf.TensorSpec([None], tf.float32),  # mask
                tf.TensorSpec(self.input_shape, tf.uint8), tf.TensorSpec([], tf.float32)]

    def update_args(self, seg, next_state):
        t = self.config.tmax
        return (*base.padded_segment(seg, t, self.input_shape),
                pad(seg.next_q, t, np.float32, (self.num_actions,)), mask_of(len(seg), t),
                next_state)

    def _update(self, states, actions, rewards, terminals, next_q, mask, next_state,
                learning_rate):
        """One update from a segment; the last real transition's s' is `next_state`."""
        last_row = self.target(next_state[None], training=False)
        n = tf.cast(tf.reduce_sum(mask), tf.int32)
        last = tf.one_hot(n - 1, tf.shape(mask)[0])[:, None]
        next_q = next_q * (1.0 - last) + last * last_row
        y = targets.q_learning_targets(rewards, next_q, terminals, self.config.gamma)
        return self._td_update(states, actions, y, mask, learning_rate)
