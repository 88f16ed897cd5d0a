"""Asynchronous n-step Q-learning.

Each thread acts epsilon-greedily for up to `tmax` steps or to a terminal,
then applies one update towards the forward-view returns
R_i = r_i + gamma * R_{i+1}, bootstrapped from max_a Q_target(s_t, a) at the
segment's end and 0 at a terminal (`targets.n_step_returns`). Acting reads only
the online network; the target network is read once per segment, inside the
update call.
"""

import tensorflow as tf

from async_deeprl import targets
from async_deeprl.agents import base
from async_deeprl.agents.value_based import ValueAgent


class Agent(ValueAgent):
    name = "n_step_q"

    def _act(self, states):
        return (self.online(states, training=False),)

    def _update_signature(self):
        return base.bootstrapped_update_signature(self.input_shape)

    def update_args(self, seg, next_state):
        return base.bootstrapped_update_args(seg, next_state, self.config.tmax, self.input_shape)

    def _update(self, states, actions, rewards, terminals, mask, next_state, learning_rate):
        """One update towards the n-step returns of a segment that ends at `next_state`."""
        bootstrap = tf.reduce_max(self.target(next_state[None], training=False))
        returns = targets.n_step_returns(rewards, terminals, bootstrap, self.config.gamma, mask)
        return self._td_update(states, actions, returns, mask, learning_rate)
