"""A3C LSTM: the paper's best Atari agent, A3C with 256 LSTM cells after the last hidden layer.

As `a3c` (policy gradient on n-step advantages, value regression, entropy bonus, no target
network), with a recurrent network (`network.build_recurrent_actor_critic_network`):
- each learner thread carries its own LSTM state (h, c) from one acting call to the next: the
  batched acting call takes every waiting thread's (frame stack, h, c) and returns each one's
  new (h, c) with its policy and value, row by row, so threads never mix their states;
- the state is reset to zeros where the thread's learning episode starts (after a terminal:
  the game's end, or a lost life with --life_loss_terminal), and at the start of every test
  or --eval game;
- an update unrolls the segment from the LSTM state the segment started with (recorded when
  its first frame was acted on), through its frames and on to the state it ends at, whose
  value is the bootstrap; the gradient flows through the whole unroll (truncated at the
  segment's start).
A resumed run's threads start from zero states, at the start of new episodes.
"""

import numpy as np
import tensorflow as tf

from async_deeprl import losses, network, targets
from async_deeprl.agents import a3c, base, policies


def zero_state(cells):
    return np.zeros(cells, np.float32), np.zeros(cells, np.float32)


class Player(a3c.Player):
    """A learner thread: its LSTM state, its segment and the state the segment started from."""

    def __init__(self, agent, rng):
        super().__init__(agent, rng)
        self.cells = agent.cells
        self.h, self.c = zero_state(self.cells)  # sent with the next frame stack
        self._sent = (self.h, self.c)  # sent with the last one
        self._segment_start = None

    def acting_input(self, state):
        self._sent = (self.h, self.c)
        return state, self.h, self.c

    def act(self, outputs, step):
        probs, value, self.h, self.c = outputs
        return super().act((probs, value), step)

    def observe(self, state, action, reward, terminal):
        if not len(self.segment):
            self._segment_start = self._sent  # the LSTM state `state` was acted on with
        super().observe(state, action, reward, terminal)
        if terminal:  # the next frame starts a new learning episode
            self.h, self.c = zero_state(self.cells)

    def take_update(self, next_state):
        seg = self.segment
        if not seg.terminals[-1] and len(seg) < self.tmax:
            return None
        self.segment = base.Segment()
        return self.agent.update_args(seg, next_state, self._segment_start)


class RecurrentPolicy:
    """A test or --eval policy(state, rng, num_actions) that carries the LSTM state through a
    game; `play_games` calls `reset()` at each game's start."""

    def __init__(self, step_fn, cells, epsilon, mode):
        self._step, self._cells = step_fn, cells
        self._choose = policies.stochastic_policy(self._probs, epsilon, mode)
        self.reset()

    def reset(self):
        self.h, self.c = zero_state(self._cells)

    def _probs(self, batch):
        probs, self.h, self.c = self._step(batch, self.h[None], self.c[None])
        self.h, self.c = np.asarray(self.h)[0], np.asarray(self.c)[0]
        return probs

    def __call__(self, state, rng, num_actions):
        return self._choose(state, rng, num_actions)


def _step_function(model, input_shape):
    """A compiled call of `model` on (frames, h, c) returning (probabilities, h', c')."""
    cells = model.input[1].shape[-1]

    def step(frames, h, c):
        logits, _, h2, c2 = model([frames, h, c], training=False)
        return tf.nn.softmax(logits), h2, c2

    return tf.function(step, input_signature=[
        tf.TensorSpec([None, *input_shape], tf.uint8), tf.TensorSpec([None, cells], tf.float32),
        tf.TensorSpec([None, cells], tf.float32)])


def unroll(model, frames, h0, c0, length):
    """(policy logits [T, A], values [T]) of `model` over the first T = `length` frame stacks
    of `frames` (one thread's, in order), starting from LSTM state (h0, c0) [cells] each: the
    torso runs on all T frames at once, the LSTM one step at a time."""
    features = model.get_layer("torso")(frames, training=True)
    core = model.get_layer("core")
    h, c = h0[None], c0[None]
    logits, values = [], []
    for t in range(length):
        step_logits, step_value, h, c = core([features[t:t + 1], h, c], training=True)
        logits.append(step_logits)
        values.append(step_value[:, 0])
    return tf.concat(logits, 0), tf.concat(values, 0)


class Agent(a3c.Agent):
    name = "a3c_lstm"
    cells = network.LSTM_CELLS

    def _build(self):
        cfg = self.config
        self.online = network.build_recurrent_actor_critic_network(
            self.num_actions, self.input_shape, name="online", torso=cfg.network,
            cells=self.cells)
        self.optimizer = network.make_optimizer(cfg.optimizer, cfg.lr, cfg.grad_clip_norm,
                                              cfg.rmsprop_epsilon)
        self.optimizer.build(self.online.trainable_variables)

    def _act_signature(self):
        state = tf.TensorSpec([None, self.cells], tf.float32)
        return [tf.TensorSpec([None, *self.input_shape], tf.uint8), state, state]

    def _act(self, states, h, c):
        logits, value, h2, c2 = self.online([states, h, c], training=False)
        return tf.nn.softmax(logits), value[:, 0], h2, c2

    def _update_signature(self):
        *segment, lr = base.bootstrapped_update_signature(self.input_shape)
        state = tf.TensorSpec([self.cells], tf.float32)
        return [*segment, state, state, lr]

    def update_args(self, seg, next_state, start_state=None):
        h0, c0 = zero_state(self.cells) if start_state is None else start_state
        return (*base.bootstrapped_update_args(seg, next_state, self.config.tmax,
                                               self.input_shape), h0, c0)

    def _update(self, states, actions, rewards, terminals, mask, next_state, h0, c0,
                learning_rate):
        """One update: the segment unrolled from (h0, c0), then its end state (the bootstrap)."""
        cfg = self.config
        # The segment's length n selects by a one-hot mask, not by indexing: XLA compiles an
        # index as a constant, so `values[n]` compiled the whole update once per distinct n
        # (seconds each, on the hot path).
        n = tf.cast(tf.reduce_sum(mask), tf.int32)  # the segment's length; padding after it
        at_n = tf.one_hot(n, cfg.tmax + 1, dtype=tf.float32)  # [T + 1]
        padded = tf.concat([states, tf.zeros_like(states[:1])], 0)
        frames = tf.where(tf.cast(at_n, tf.bool)[:, None, None, None], next_state[None], padded)
        with tf.GradientTape() as tape:
            logits, values = unroll(self.online, frames, h0, c0, cfg.tmax + 1)
            bootstrap = tf.stop_gradient(tf.reduce_sum(values * at_n))
            returns = targets.n_step_returns(rewards, terminals, bootstrap, cfg.gamma, mask)
            advantages = a3c.policy_advantages(cfg, rewards, values[:-1], terminals, bootstrap,
                                               mask)
            loss, parts = losses.actor_critic_loss(logits[:-1], values[:-1], actions, returns,
                                                   mask, cfg.value_loss_coef, cfg.entropy_beta,
                                                   advantages)
        return self._finish_actor_critic(tape, loss, parts, learning_rate)

    def warm_up(self, batch_sizes, update=True):
        if update:
            state = np.zeros(self.input_shape, np.uint8)
            self.update(*self.update_args(base.Segment(), state), np.float32(0.0))
        for size in batch_sizes:
            h = np.zeros((size, self.cells), np.float32)
            self.act(np.zeros((size, *self.input_shape), np.uint8), h, h)

    def player(self, index, rng):
        return Player(self, rng)

    def test_policy(self, epsilon):
        return RecurrentPolicy(_step_function(self.online, self.input_shape), self.cells,
                               epsilon, self.config.eval_policy)

    @staticmethod
    def build_eval_model(num_actions, input_shape, torso="small"):
        return network.build_recurrent_actor_critic_network(num_actions, input_shape,
                                                            torso=torso)

    @staticmethod
    def eval_policy(model, epsilon, mode="sample"):
        input_shape = tuple(model.input[0].shape[1:])
        return RecurrentPolicy(_step_function(model, input_shape), model.input[1].shape[-1],
                               epsilon, mode)
