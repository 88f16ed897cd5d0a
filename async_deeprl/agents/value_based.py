"""What the three asynchronous value-based agents share: epsilon-greedy players,
online and target Q-networks, the TD update and per-thread final epsilons.

A subclass gives its name, its `_act` outputs (online Q-values first), its
player class, and its compiled update: `_update_signature`, `update_args` and
`_update`, which computes the targets with a function of `targets.py` and
calls `_td_update`. The interface the runner uses is in `base.py`.
"""

import numpy as np
import tensorflow as tf

from async_deeprl import network, schedules
from async_deeprl.agents import base, policies


class EpsilonGreedyPlayer(base.SegmentPlayer):
    """A learner thread's side of a value-based agent: epsilon-greedy actions and its segment."""

    def __init__(self, agent, eps_min, rng):
        super().__init__(agent)
        self._eps_min, self._rng = eps_min, rng
        self._q_sum, self._q_count = 0.0, 0

    def choose(self, q, step):
        """Epsilon-greedy action on online Q-values `q` at global step `step`."""
        self._q_sum += float(q.max())
        self._q_count += 1
        if self._rng.random() < self.agent.epsilon(step, self._eps_min):
            return int(self._rng.integers(len(q)))
        return int(np.argmax(q))

    def act(self, outputs, step):
        return self.choose(outputs[0], step)

    def drain_stats(self):
        """{column: (sum, count)} of acting statistics since the last drain."""
        stats = dict(avg_max_q=(self._q_sum, self._q_count))
        self._q_sum, self._q_count = 0.0, 0
        return stats


class ValueAgent(base.Agent):
    """Online and target Q-networks, the shared optimizer and per-thread final epsilons."""

    player_class = EpsilonGreedyPlayer
    uses_target_network = True
    update_stats = ("loss",)
    log_columns = ("avg_max_q", "epsilon_mean")

    def _build(self):
        cfg = self.config
        self.online = network.build_q_network(self.num_actions, self.input_shape, name="online",
                                              torso=cfg.network)
        self.target = network.build_q_network(self.num_actions, self.input_shape, name="target",
                                              torso=cfg.network)
        self.optimizer = network.make_optimizer(cfg.optimizer, cfg.lr, cfg.grad_clip_norm,
                                              cfg.rmsprop_epsilon)
        self.optimizer.build(self.online.trainable_variables)
        self.eps_mins = tf.Variable(tf.zeros([0], tf.float64), shape=tf.TensorShape([None]),
                                    trainable=False)
        self.thread_eps_mins = []  # set by prepare_threads
        batch = tf.TensorSpec([None, *self.input_shape], tf.uint8)
        self.q_values = tf.function(self._q_values, input_signature=[batch], jit_compile=self.xla)
        self.sync_target = tf.function(self._sync_target, input_signature=[])
        self.sync_target()

    # Shared ---------------------------------------------------------------
    def _q_values(self, states):
        return self.online(states, training=False)

    def _td_update(self, states, actions, y, mask, learning_rate):
        """sum_i mask_i (y_i - Q(s_i, a_i))^2: the per-transition gradients of the paper,
        accumulated over the segment and applied once through the shared optimizer."""
        y = tf.stop_gradient(y)
        with tf.GradientTape() as tape:
            q = self.online(states, training=True)
            chosen = tf.gather(q, actions, axis=1, batch_dims=1)
            loss = tf.reduce_sum(mask * tf.square(y - chosen))
        grads = tape.gradient(loss, self.trainable_variables)
        return self._finish(loss, grads, learning_rate, loss[None])

    def _sync_target(self):
        for target_var, online_var in zip(self.target.weights, self.online.weights):
            target_var.assign(online_var)
        return tf.constant(True)

    def shared_models(self):
        return dict(online=self.online, target=self.target)

    def thread_settings(self):
        return list(self.thread_eps_mins)

    def set_thread_settings(self, settings):
        self.thread_eps_mins = list(settings)

    def warm_up(self, batch_sizes, update=True):
        super().warm_up(batch_sizes, update)
        self.q_values(np.zeros((1, *self.input_shape), np.uint8))

    def checkpoint_items(self):
        """The trackables a checkpoint of this agent holds (names kept from the first release)."""
        return dict(online=self.online, target=self.target, optimizer=self.optimizer,
                    eps_mins=self.eps_mins)

    def prepare_threads(self, threads, rng, restored):
        """Draws each thread's eps_min; a restored run keeps its saved ones (new threads draw).

        Returns the lines to print, one per thread.
        """
        drawn = schedules.sample_eps_mins(threads, rng)
        saved = [float(e) for e in self.eps_mins.numpy()] if restored else []
        self.thread_eps_mins = (saved + drawn)[:threads]
        self.eps_mins.assign(tf.constant(self.thread_eps_mins, tf.float64))
        return [f"thread {i}: eps_min {e}" for i, e in enumerate(self.thread_eps_mins)]

    def player(self, index, rng):
        return self.player_class(self, self.thread_eps_mins[index], rng)

    def epsilon(self, step, eps_min):
        cfg = self.config
        if cfg.eps_schedule == "exponential":
            return schedules.exponential_epsilon(step, cfg.eps_start, eps_min, cfg.eps_steps)
        return schedules.epsilon_at(step, cfg.eps_start, eps_min, cfg.eps_steps)

    def log_values(self, step):
        return dict(epsilon_mean=float(np.mean([self.epsilon(step, e)
                                                for e in self.thread_eps_mins])))

    def console(self, row):
        return f"avg_max_q={row['avg_max_q']:.3f} eps={row['epsilon_mean']:.3f}"

    def test_policy(self, epsilon):
        return policies.epsilon_greedy(self.q_values, epsilon)

    @staticmethod
    def build_eval_model(num_actions, input_shape, torso="small"):
        """The network `--eval` and export restore from a checkpoint's `online` entry."""
        return network.build_q_network(num_actions, input_shape, torso=torso)

    @staticmethod
    def eval_policy(model, epsilon, mode="greedy"):
        """Epsilon-greedy on the restored Q-network (`mode` is for policy agents; Q is greedy)."""
        del mode
        q_fn = tf.function(lambda s: model(s, training=False),
                           input_signature=[tf.TensorSpec([None, *model.input_shape[1:]], tf.uint8)])
        return policies.epsilon_greedy(q_fn, epsilon)
