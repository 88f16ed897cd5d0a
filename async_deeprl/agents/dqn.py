"""DQN with experience replay (Mnih et al. 2015; the seeds' Pong DQN), the family's baseline.

Acting threads (one by default) act epsilon-greedily on the online network and
store every transition in a replay buffer (`replay.py`, one stream per thread);
every `train_freq` of its own steps, once `replay_initial` transitions are
stored, a thread applies one minibatch update: `batch_size` uniform draws,
targets y = r + gamma * max_a Q_target(s', a) (`targets.q_learning_targets`,
or `double_q_targets`), Huber or squared loss averaged over the minibatch
(`losses.td_loss`), one compiled TF call that takes the minibatch as contiguous
frame windows (`replay.py`) and splits them into s and s' itself. The target network syncs every
`update_interval` global steps. The buffer is not saved in checkpoints: a
resumed run refills it before updating again (it says so when it starts).
"""

import numpy as np
import tensorflow as tf

from async_deeprl import losses, replay, targets
from async_deeprl.agents.value_based import EpsilonGreedyPlayer, ValueAgent


class Player(EpsilonGreedyPlayer):
    """An acting thread: epsilon-greedy actions, its stream of the buffer, its updates."""

    def __init__(self, agent, stream, eps_min, rng):
        super().__init__(agent, eps_min, rng)
        self._stream, self._steps = stream, 0

    def observe(self, state, action, reward, terminal):
        self.agent.replay.add(self._stream, state, action, reward, terminal)
        self._steps += 1

    def take_update(self, next_state):
        """A minibatch (the update's arguments) every `train_freq` steps once the buffer is warm."""
        cfg = self.agent.config
        if self._steps % cfg.train_freq or len(self.agent.replay) < cfg.replay_initial:
            return None
        windows, actions, rewards, terminals = self.agent.replay.sample(cfg.batch_size, self._rng)
        return windows, actions, rewards, terminals, np.ones(cfg.batch_size, np.float32)


class Agent(ValueAgent):
    name = "dqn"
    player_class = Player

    def _act(self, states):
        return (self.online(states, training=False),)

    def _update_signature(self):
        height, width, memory = self.input_shape
        windows = tf.TensorSpec([None, memory + 1, height, width], tf.uint8)
        vector = lambda dtype: tf.TensorSpec([None], dtype)
        return [windows, vector(tf.int32), vector(tf.float32), vector(tf.float32),
                vector(tf.float32), tf.TensorSpec([], tf.float32)]

    def update_args(self, segment, next_state):
        """A segment's transitions as one minibatch of frame windows (`replay.windows_of`: s'
        of each is the next one's s, the last's `next_state`, continuing s as in a game),
        padded with zero-weight rows to `batch_size` rows; an empty segment gives an
        all-zero-weight minibatch (warm-up compiles the update with it)."""
        b, n = self.config.batch_size, len(segment)
        if n > b:
            raise ValueError(f"a segment of {n} transitions does not fit a minibatch of {b}")
        height, width, memory = self.input_shape
        windows = np.zeros((b, memory + 1, height, width), np.uint8)
        if n:
            windows[:n] = replay.windows_of(segment.states, [*segment.states[1:], next_state])
        pad = lambda values, dtype: np.concatenate([np.asarray(values, dtype),
                                                   np.zeros(b - n, dtype)])
        return (windows, pad(segment.actions, np.int32), pad(segment.rewards, np.float32),
                pad(segment.terminals, np.float32), pad(np.ones(n), np.float32))

    def _update(self, windows, actions, rewards, terminals, weights, learning_rate):
        """One minibatch update of frame windows (s, s' split here, inside the compiled call);
        `weights` 0 leaves a draw out (warm-up only)."""
        cfg = self.config
        if self.xla:
            states = tf.transpose(windows[:, :-1], [0, 2, 3, 1])
            next_states = tf.transpose(windows[:, 1:], [0, 2, 3, 1])
        else:
            # Uncompiled (--noxla), TensorFlow hands a uint8 transpose to oneDNN, which logs an
            # error line ("supports DT_UINT8 only on platforms with AVX-512") on CPUs it does not
            # serve; stacking the frames gives the same arrays without it (tests/test_xla.py).
            frames = tf.unstack(windows, axis=1)
            states, next_states = tf.stack(frames[:-1], axis=-1), tf.stack(frames[1:], axis=-1)
        next_target = self.target(next_states, training=False)
        if cfg.double_q:
            y = targets.double_q_targets(rewards, next_target,
                                         self.online(next_states, training=False), terminals,
                                         cfg.gamma)
        else:
            y = targets.q_learning_targets(rewards, next_target, terminals, cfg.gamma)
        with tf.GradientTape() as tape:
            q = self.online(states, training=True)
            chosen = tf.gather(q, actions, axis=1, batch_dims=1)
            loss = losses.td_loss(chosen, y, cfg.td_loss, weights)
        grads = tape.gradient(loss, self.trainable_variables)
        return self._finish(loss, grads, learning_rate, loss[None])

    def checkpoint_items(self):
        """Weights, target weights and optimizer slots; epsilon follows from the saved step."""
        return dict(online=self.online, target=self.target, optimizer=self.optimizer)

    def prepare_threads(self, threads, rng, restored):
        """Every thread's final epsilon is `eps_final`; the buffer starts empty (also on resume)."""
        cfg = self.config
        del rng
        self.replay = replay.ReplayBuffer(cfg.replay_capacity, threads, cfg.memory_len,
                                          size=self.input_shape[0])
        self.thread_eps_mins = [cfg.eps_final] * threads
        self.eps_mins.assign(tf.constant(self.thread_eps_mins, tf.float64))
        again = " again (it is not saved in checkpoints)" if restored else ""
        return [f"replay buffer: {cfg.replay_capacity:,} transitions ({self.replay.nbytes / 2**20:,.0f}"
                f" MiB, {threads} stream{'s' if threads > 1 else ''}), filled with "
                f"{cfg.replay_initial:,} transitions before updates begin{again}; "
                f"eps_final {cfg.eps_final} for every thread"]

    def player(self, index, rng):
        return self.player_class(self, index, self.thread_eps_mins[index], rng)
