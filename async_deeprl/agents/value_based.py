"""What the three asynchronous value-based agents share, and the agent interface the runner uses.

The runner drives every agent through these members only:
  construction `Agent(num_actions, input_shape, config)`;
  `act(batch)` and `update(*update_args, learning_rate)`: compiled TF calls
    (the dispatcher batches `act` across threads);
  `update_stats`: names of the numbers `update` returns, the loss first;
  `uses_target_network` and `sync_target()`;
  `warm_up(batch_sizes)`, `checkpoint_items()`,
    `prepare_threads(threads, rng, restored)`;
  `worker(index, rng)`: a per-thread object with `act(outputs, step)`,
    `observe(state, action, reward, terminal)`, `take_update(next_state)` and
    `drain_stats()`;
  `log_columns`, `log_values(step)`, `console(row)`: its log columns;
  `test_policy(epsilon)`; class methods `build_eval_model` and `eval_policy`
    for `--eval` and export.
A subclass gives its name, its `_act` outputs, its worker class, and its
compiled update: `_update_signature`, `update_args` and `_update`, which
computes the targets with a function of `targets.py`.
"""

import numpy as np
import tensorflow as tf

from async_deeprl import evaluation, network, schedules


class Segment:
    """One thread's transitions since its last update, as parallel lists.

    `next_q` holds the target network's Q-values of each transition's s' where
    the agent needs them (None until known); `next_actions` the action taken at
    s' (SARSA).
    """

    def __init__(self):
        self.states, self.actions, self.rewards, self.terminals = [], [], [], []
        self.next_q, self.next_actions = [], []

    def add(self, state, action, reward, terminal):
        self.states.append(state)
        self.actions.append(action)
        self.rewards.append(reward)
        self.terminals.append(float(terminal))
        self.next_q.append(None)
        self.next_actions.append(0)

    def __len__(self):
        return len(self.states)


def pad(values, length, dtype, shape=()):
    """`values` (a list, None entries as zeros) in a zero array of `length` rows."""
    out = np.zeros((length, *shape), dtype)
    for i, v in enumerate(values):
        if v is not None:
            out[i] = v
    return out


def mask_of(n, length):
    """1.0 for the first `n` of `length` positions, then 0.0 (padding)."""
    return (np.arange(length) < n).astype(np.float32)


def apply_if_finite(optimizer, variables, loss, grads, learning_rate, stats):
    """Applies `grads` at `learning_rate` unless the loss or gradient is not finite.

    Returns `stats` (a float32 vector, the loss first), or all NaN if the update
    was skipped: a non-finite update never reaches the shared weights or slots.
    """
    finite = tf.math.is_finite(loss) & tf.math.is_finite(tf.linalg.global_norm(grads))

    def apply():
        optimizer.learning_rate.assign(learning_rate)
        optimizer.apply_gradients(zip(grads, variables))
        return stats

    return tf.cond(finite, apply, lambda: tf.fill(tf.shape(stats), np.float32(np.nan)))


class EpsilonGreedyWorker:
    """A learner thread's side of a value-based agent: epsilon-greedy actions and its segment."""

    def __init__(self, agent, eps_min, rng):
        self.agent, self.tmax = agent, agent.config.tmax
        self.segment = Segment()  # the transitions since the thread's last update
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

    def observe(self, state, action, reward, terminal):
        """Records one transition (reward already clipped)."""
        self.segment.add(state, action, reward, terminal)

    def take_update(self, next_state):
        """The update arguments of a finished segment (tmax transitions or a terminal), or None."""
        seg = self.segment
        if not seg.terminals[-1] and len(seg) < self.tmax:
            return None
        self.segment = Segment()
        return self.agent.update_args(seg, next_state)

    def drain_stats(self):
        """{column: (sum, count)} of acting statistics since the last drain."""
        stats = dict(avg_max_q=(self._q_sum, self._q_count))
        self._q_sum, self._q_count = 0.0, 0
        return stats


class ValueAgent:
    """Online and target Q-networks, the shared optimizer and per-thread final epsilons."""

    name = None
    worker_class = EpsilonGreedyWorker
    uses_target_network = True
    update_stats = ("loss",)
    log_columns = ("avg_max_q", "epsilon_mean")

    def __init__(self, num_actions, input_shape, config, xla=True):
        self.num_actions, self.input_shape, self.config = num_actions, tuple(input_shape), config
        self.online = network.build_q_network(num_actions, input_shape, name="online")
        self.target = network.build_q_network(num_actions, input_shape, name="target")
        self.optimizer = network.make_optimizer(config.optimizer, config.lr, config.grad_clip_norm)
        self.optimizer.build(self.online.trainable_variables)
        self.eps_mins = tf.Variable(tf.zeros([0], tf.float64), shape=tf.TensorShape([None]),
                                    trainable=False)
        self.thread_eps_mins = []  # set by prepare_threads
        batch = tf.TensorSpec([None, *self.input_shape], tf.uint8)
        self.act = tf.function(self._act, input_signature=[batch], jit_compile=xla)
        self.q_values = tf.function(self._q_values, input_signature=[batch], jit_compile=xla)
        self.update = tf.function(self._update, jit_compile=xla,
                                  input_signature=self._update_signature())
        self.sync_target = tf.function(self._sync_target, input_signature=[])
        self.sync_target()

    # What a subclass defines ---------------------------------------------
    def _act(self, states):
        """Outputs of one acting call for a batch of states (a tuple, online Q-values first)."""
        raise NotImplementedError

    def _update_signature(self):
        raise NotImplementedError

    def update_args(self, segment, next_state):
        """The arguments of `update` (without the learning rate) for one finished segment."""
        raise NotImplementedError

    def _update(self, *args):
        """The compiled update: targets of the segment, then `_td_update`."""
        raise NotImplementedError

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
        variables = self.online.trainable_variables
        grads = tape.gradient(loss, variables)
        return apply_if_finite(self.optimizer, variables, loss, grads, learning_rate, loss[None])

    def _sync_target(self):
        for target_var, online_var in zip(self.target.weights, self.online.weights):
            target_var.assign(online_var)
        return tf.constant(True)

    def warm_up(self, batch_sizes):
        """Compiles `update` for `config.tmax` transitions and `act` for each batch size.

        Changes no network weight: the update has an all-zero mask (zero gradient)
        at learning rate 0; only the optimizer's step count advances and its
        running squares decay once by rho. Call it before restoring a checkpoint.
        """
        state = np.zeros(self.input_shape, np.uint8)
        self.update(*self.update_args(Segment(), state), np.float32(0.0))
        for size in batch_sizes:
            self.act(np.zeros((size, *self.input_shape), np.uint8))
        self.q_values(state[None])

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

    def worker(self, index, rng):
        return self.worker_class(self, self.thread_eps_mins[index], rng)

    def epsilon(self, step, eps_min):
        cfg = self.config
        return schedules.epsilon_at(step, cfg.eps_start, eps_min, cfg.eps_steps)

    def log_values(self, step):
        return dict(epsilon_mean=float(np.mean([self.epsilon(step, e)
                                                for e in self.thread_eps_mins])))

    def console(self, row):
        return f"avg_max_q={row['avg_max_q']:.3f} eps={row['epsilon_mean']:.3f}"

    def test_policy(self, epsilon):
        return evaluation.epsilon_greedy(self.q_values, epsilon)

    @staticmethod
    def build_eval_model(num_actions, input_shape):
        """The network `--eval` and export restore from a checkpoint's `online` entry."""
        return network.build_q_network(num_actions, input_shape)

    @staticmethod
    def eval_policy(model, epsilon):
        q_fn = tf.function(lambda s: model(s, training=False),
                           input_signature=[tf.TensorSpec([None, *model.input_shape[1:]], tf.uint8)])
        return evaluation.epsilon_greedy(q_fn, epsilon)
