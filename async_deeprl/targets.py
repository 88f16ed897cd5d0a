"""Learning targets of the family, as pure TensorFlow functions.

Each takes plain arrays (NumPy or tensors) and returns a float32 tensor; the
agents call them inside their compiled updates, and the tests call them
eagerly on hand-made numbers. `terminals[i]` is 1 where the transition's s'
ends the learning episode (game over or, in training, a lost life): nothing
is bootstrapped past it.
"""

import tensorflow as tf


def _f32(x):
    return tf.cast(tf.convert_to_tensor(x), tf.float32)


def q_learning_targets(rewards, next_q, terminals, gamma):
    """One-step Q-learning: y_i = r_i + gamma * max_a next_q[i, a]; y_i = r_i at a terminal.

    Args:
      rewards: clipped rewards, shape [B].
      next_q: target-network Q-values of each transition's s', shape [B, A].
      terminals: 1 where s' is terminal, else 0; shape [B].
      gamma: discount in [0, 1].
    """
    next_value = tf.reduce_max(_f32(next_q), axis=1)
    return _f32(rewards) + _f32(gamma) * (1.0 - _f32(terminals)) * next_value


def double_q_targets(rewards, next_q_target, next_q_online, terminals, gamma):
    """Double Q-learning (van Hasselt et al. 2016): the online network picks a' at s', the
    target network values it: y_i = r_i + gamma * next_q_target[i, argmax_a next_q_online[i, a]].

    Args as `q_learning_targets`, plus next_q_online: online-network Q-values of s', [B, A].
    """
    picked = tf.argmax(_f32(next_q_online), axis=1, output_type=tf.int32)
    value = tf.gather(_f32(next_q_target), picked, axis=1, batch_dims=1)
    return _f32(rewards) + _f32(gamma) * (1.0 - _f32(terminals)) * value


def sarsa_targets(rewards, next_q, next_actions, terminals, gamma):
    """One-step SARSA: y_i = r_i + gamma * next_q[i, a'_i], a'_i the action the thread took at s'.

    Args as `q_learning_targets`, plus next_actions: int, shape [B] (any value at a terminal).
    """
    taken = tf.gather(_f32(next_q), tf.cast(next_actions, tf.int32), axis=1, batch_dims=1)
    return _f32(rewards) + _f32(gamma) * (1.0 - _f32(terminals)) * taken


def n_step_returns(rewards, terminals, bootstrap, gamma, mask=None):
    """Forward-view returns R_i = r_i + gamma * R_{i+1}, from R_n = `bootstrap`, cut at terminals.

    Computed backwards over the segment: R_i = r_i + gamma * (1 - terminal_i) * R_{i+1}.
    Positions with mask 0 (padding after the segment's end) pass R through
    unchanged, so a padded segment gives the same returns as the unpadded one.

    Args:
      rewards: clipped rewards of the segment in time order, shape [T].
      terminals: 1 where that transition's s' is terminal, shape [T].
      bootstrap: scalar value of the state after the segment's last transition
        (max_a Q_target for n-step Q, V for A3C); ignored past a terminal.
      gamma: discount in [0, 1].
      mask: 1 for real transitions, 0 for padding; shape [T] (default all 1).
    Returns:
      float32 tensor of shape [T].
    """
    rewards, terminals = _f32(rewards), _f32(terminals)
    mask = tf.ones_like(rewards) if mask is None else _f32(mask)
    gamma = _f32(gamma)

    def back(following, step):
        reward, terminal, real = step
        value = reward + gamma * (1.0 - terminal) * following
        return real * value + (1.0 - real) * following

    return tf.scan(back, (rewards, terminals, mask), initializer=_f32(bootstrap), reverse=True)


def gae_advantages(rewards, values, terminals, bootstrap, gamma, lam, mask=None):
    """Generalized advantage estimates (Schulman et al. 2016) of one segment.

    A_i = delta_i + gamma * lam * (1 - terminal_i) * A_{i+1}, with the TD errors
    delta_i = r_i + gamma * (1 - terminal_i) * V(s_{i+1}) - V(s_i), V(s_n) = `bootstrap`
    after the last real transition, and A_n = 0. lam = 1 gives R_i - V(s_i) with R_i the
    n-step returns of `n_step_returns` (the paper's advantages); lam = 0 the one-step TD
    errors. Padding positions (mask 0) pass the following values through unchanged.

    Args:
      rewards, terminals, mask: as in `n_step_returns`, shape [T].
      values: V(s_i) of the segment's states, shape [T] (held constant by the caller).
      bootstrap: V of the state after the segment's last transition (ignored past a terminal).
      gamma, lam: discount and the GAE weight, both in [0, 1].
    Returns:
      float32 tensor of shape [T].
    """
    rewards, values, terminals = _f32(rewards), _f32(values), _f32(terminals)
    mask = tf.ones_like(rewards) if mask is None else _f32(mask)
    gamma, lam = _f32(gamma), _f32(lam)

    def back(following, step):
        advantage_next, value_next = following
        reward, value, terminal, real = step
        keep = 1.0 - terminal
        delta = reward + gamma * keep * value_next - value
        advantage = delta + gamma * lam * keep * advantage_next
        return (real * advantage + (1.0 - real) * advantage_next,
                real * value + (1.0 - real) * value_next)

    advantages, _ = tf.scan(back, (rewards, values, terminals, mask),
                            initializer=(_f32(0.0), _f32(bootstrap)), reverse=True)
    return advantages
