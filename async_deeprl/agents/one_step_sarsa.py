"""Asynchronous one-step SARSA.

As one-step Q-learning, but the target bootstraps from the action the thread
actually takes next: y = r + gamma * Q_target(s', a'), a' epsilon-greedy at s'
(`targets.sarsa_targets`); y = r at a terminal. Since a' is chosen only after
the acting call on s' returns, a finished segment rides on the thread's
following request: it is applied one agent step later than one-step Q's, and
its update needs no extra network call.
"""

import numpy as np
import tensorflow as tf

from async_deeprl import targets
from async_deeprl.agents import base
from async_deeprl.agents.base import Segment, mask_of, pad
from async_deeprl.agents.value_based import EpsilonGreedyPlayer, ValueAgent


class Player(EpsilonGreedyPlayer):
    def __init__(self, *args):
        super().__init__(*args)
        self._finished = None

    def act(self, outputs, step):
        q, target_q = outputs
        action = self.choose(q, step)
        seg = self.segment
        if len(seg):
            if not seg.terminals[-1]:  # Bootstrap the last transition from (s', a').
                seg.next_q[-1], seg.next_actions[-1] = target_q, action
            if seg.terminals[-1] or len(seg) >= self.tmax:
                self._finished, self.segment = seg, Segment()
        return action

    def take_update(self, next_state):
        seg, self._finished = self._finished, None
        return None if seg is None else self.agent.update_args(seg, next_state)


class Agent(ValueAgent):
    name = "one_step_sarsa"
    player_class = Player

    def _act(self, states):
        return self.online(states, training=False), self.target(states, training=False)

    def _update_signature(self):
        return [*base.segment_signature(self.input_shape),
                tf.TensorSpec([None, self.num_actions], tf.float32),  # next_q
                tf.TensorSpec([None], tf.int32),  # next_actions
                tf.TensorSpec([None], tf.float32),  # mask
                tf.TensorSpec([], tf.float32)]

    def update_args(self, seg, next_state):
        del next_state  # Every target is complete before the segment is sent.
        t = self.config.tmax
        return (*base.padded_segment(seg, t, self.input_shape),
                pad(seg.next_q, t, np.float32, (self.num_actions,)),
                pad(seg.next_actions, t, np.int32), mask_of(len(seg), t))

    def _update(self, states, actions, rewards, terminals, next_q, next_actions, mask,
                learning_rate):
        y = targets.sarsa_targets(rewards, next_q, next_actions, terminals, self.config.gamma)
        return self._td_update(states, actions, y, mask, learning_rate)
