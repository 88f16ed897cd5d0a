"""Asynchronous advantage actor-critic (A3C, the paper's algorithm S3, feed-forward network).

Each thread samples its actions from the shared policy (no epsilon) for up to
`tmax` steps or to a terminal, then applies one update of
`losses.actor_critic_loss`: policy gradient with advantages R_i - V(s_i),
value regression towards the forward-view returns R_i bootstrapped from
V(s_t) at the segment's end (0 at a terminal; `targets.n_step_returns`), and
an entropy bonus. One network with a policy and a value head; one acting
call per step returns both; no target network.
"""

import numpy as np
import tensorflow as tf

from async_deeprl import losses, network, targets
from async_deeprl.agents import base, policies


def entropy(probs):
    """Entropy -sum p log p (nats) of one probability vector; 0 log 0 counts as 0."""
    p = np.asarray(probs, np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def policy_advantages(config, rewards, values, terminals, bootstrap, mask):
    """The policy term's advantages: None (the paper's R_i - V(s_i)) at --gae_lambda 1, else
    `targets.gae_advantages` of the values (held constant)."""
    if config.gae_lambda >= 1.0:
        return None
    return targets.gae_advantages(rewards, tf.stop_gradient(values), terminals, bootstrap,
                                  config.gamma, config.gae_lambda, mask)


class Player(base.SegmentPlayer):
    """A learner thread: samples from the policy and keeps its segment."""

    def __init__(self, agent, rng):
        super().__init__(agent)
        self._rng = rng
        self._entropy_sum = self._value_sum = 0.0
        self._count = 0

    def act(self, outputs, step):
        probs, value = outputs
        self._entropy_sum += entropy(probs)
        self._value_sum += float(value)
        self._count += 1
        return policies.sample_action(probs, self._rng)

    def drain_stats(self):
        """{column: (sum, count)} of the policy's entropy and V(s) at the acting steps."""
        stats = dict(policy_entropy=(self._entropy_sum, self._count),
                     value_mean=(self._value_sum, self._count))
        self._entropy_sum = self._value_sum = 0.0
        self._count = 0
        return stats


class Agent(base.Agent):
    name = "a3c"
    policy_modes = ("sample", "greedy")
    update_stats = ("loss", "policy_loss", "value_loss", "advantage_abs")
    log_columns = ("policy_entropy", "value_mean")

    def _build(self):
        cfg = self.config
        self.online = network.build_actor_critic_network(self.num_actions, self.input_shape,
                                                         name="online", torso=cfg.network)
        self.optimizer = network.make_optimizer(cfg.optimizer, cfg.lr, cfg.grad_clip_norm,
                                              cfg.rmsprop_epsilon)
        self.optimizer.build(self.online.trainable_variables)
        batch = tf.TensorSpec([None, *self.input_shape], tf.uint8)
        self.probs = tf.function(lambda s: self._act(s)[0], input_signature=[batch],
                                 jit_compile=self.xla)

    def _act(self, states):
        logits, value = self.online(states, training=False)
        return tf.nn.softmax(logits), value[:, 0]

    def _update_signature(self):
        return base.bootstrapped_update_signature(self.input_shape)

    def update_args(self, seg, next_state):
        return base.bootstrapped_update_args(seg, next_state, self.config.tmax, self.input_shape)

    def _update(self, states, actions, rewards, terminals, mask, next_state, learning_rate):
        """One update from a segment that ends at `next_state`."""
        cfg = self.config
        bootstrap = self.online(next_state[None], training=False)[1][0, 0]
        returns = targets.n_step_returns(rewards, terminals, bootstrap, cfg.gamma, mask)
        with tf.GradientTape() as tape:
            logits, values = self.online(states, training=True)
            advantages = policy_advantages(cfg, rewards, values[:, 0], terminals, bootstrap, mask)
            loss, parts = losses.actor_critic_loss(logits, values[:, 0], actions, returns, mask,
                                                   cfg.value_loss_coef, cfg.entropy_beta,
                                                   advantages)
        return self._finish_actor_critic(tape, loss, parts, learning_rate)

    def _finish_actor_critic(self, tape, loss, parts, learning_rate):
        """The gradient of `loss`, applied (`_finish`); returns the update's stats."""
        grads = tape.gradient(loss, self.trainable_variables)
        stats = tf.stack([loss, parts["policy_loss"], parts["value_loss"],
                          parts["advantage_abs"]])
        return self._finish(loss, grads, learning_rate, stats)

    def warm_up(self, batch_sizes, update=True):
        super().warm_up(batch_sizes, update)
        self.probs(np.zeros((1, *self.input_shape), np.uint8))

    def checkpoint_items(self):
        return dict(online=self.online, optimizer=self.optimizer)

    def prepare_threads(self, threads, rng, restored):
        return []  # Threads differ only in their environments and random streams.

    def player(self, index, rng):
        return Player(self, rng)

    def log_values(self, step):
        return {}

    def console(self, row):
        return f"entropy={row['policy_entropy']:.3f} value={row['value_mean']:.3f}"

    def test_policy(self, epsilon):
        return policies.stochastic_policy(self.probs, epsilon, self.config.eval_policy)

    @staticmethod
    def build_eval_model(num_actions, input_shape, torso="small"):
        return network.build_actor_critic_network(num_actions, input_shape, torso=torso)

    @staticmethod
    def eval_policy(model, epsilon, mode="sample"):
        spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.uint8)
        probs = tf.function(lambda s: tf.nn.softmax(model(s, training=False)[0]),
                            input_signature=[spec])
        return policies.stochastic_policy(probs, epsilon, mode)
