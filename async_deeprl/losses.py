"""Losses of the family, as pure TensorFlow functions of one segment.

Like `targets.py`, each takes plain arrays or tensors, is called inside the
agents' compiled updates, and is tested eagerly on hand-made numbers. `mask`
is 1 for a segment's real transitions and 0 for padding.
"""

import tensorflow as tf


def actor_critic_loss(logits, values, actions, returns, mask, value_coef, entropy_beta):
    """A3C's loss of one segment, summed over its transitions (the paper's accumulated gradients).

    loss = sum_i mask_i * [ -log pi(a_i|s_i) * A_i
                            + value_coef * (R_i - V(s_i))^2
                            - entropy_beta * H(pi(.|s_i)) ],
    with the advantage A_i = R_i - V(s_i) held constant in the policy term
    and H(p) = -sum_a p_a log p_a.

    Args:
      logits: policy logits, shape [T, A].
      values: V(s_i), shape [T].
      actions: int actions taken, shape [T].
      returns: the n-step returns R_i (`targets.n_step_returns`), shape [T].
      mask: shape [T].
      value_coef, entropy_beta: weights of the value and entropy terms.
    Returns:
      (loss, parts): the scalar loss and a dict of scalars: `policy_loss`,
      `value_loss` (both sums, unweighted), `entropy` and `advantage_abs`
      (means over the real transitions).
    """
    logits, values = tf.convert_to_tensor(logits, tf.float32), tf.convert_to_tensor(values, tf.float32)
    returns, mask = tf.cast(returns, tf.float32), tf.cast(mask, tf.float32)
    log_probs = tf.nn.log_softmax(logits)
    chosen = tf.gather(log_probs, tf.cast(actions, tf.int32), axis=1, batch_dims=1)
    errors = returns - values
    advantages = tf.stop_gradient(errors)
    entropies = -tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=1)
    policy_loss = -tf.reduce_sum(mask * chosen * advantages)
    value_loss = tf.reduce_sum(mask * tf.square(errors))
    entropy_sum = tf.reduce_sum(mask * entropies)
    loss = policy_loss + value_coef * value_loss - entropy_beta * entropy_sum
    n = tf.maximum(tf.reduce_sum(mask), 1.0)
    return loss, dict(policy_loss=policy_loss, value_loss=value_loss, entropy=entropy_sum / n,
                      advantage_abs=tf.reduce_sum(mask * tf.abs(advantages)) / n)
