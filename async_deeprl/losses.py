"""Losses of the family, as pure TensorFlow functions of one segment.

Like `targets.py`, each takes plain arrays or tensors, is called inside the
agents' compiled updates, and is tested eagerly on hand-made numbers. `mask`
is 1 for a segment's real transitions and 0 for padding.
"""

import tensorflow as tf


def actor_critic_loss(logits, values, actions, returns, mask, value_coef, entropy_beta,
                      advantages=None):
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
      advantages: the policy term's A_i instead of R_i - V(s_i) (e.g.
        `targets.gae_advantages`), shape [T]; held constant too.
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
    advantages = tf.stop_gradient(errors if advantages is None else
                                  tf.convert_to_tensor(advantages, tf.float32))
    entropies = -tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=1)
    policy_loss = -tf.reduce_sum(mask * chosen * advantages)
    value_loss = tf.reduce_sum(mask * tf.square(errors))
    entropy_sum = tf.reduce_sum(mask * entropies)
    loss = policy_loss + value_coef * value_loss - entropy_beta * entropy_sum
    n = tf.maximum(tf.reduce_sum(mask), 1.0)
    return loss, dict(policy_loss=policy_loss, value_loss=value_loss, entropy=entropy_sum / n,
                      advantage_abs=tf.reduce_sum(mask * tf.abs(advantages)) / n)


def td_loss(q_chosen, targets, kind="huber", mask=None):
    """Mean over a minibatch of the TD error's loss, DQN's: Huber (quadratic within 1 of the
    target, linear beyond, so each error's gradient is at most 1 in size) or squared error.

    Args:
      q_chosen: Q(s_i, a_i), shape [B]; targets: y_i, shape [B], held constant.
      kind: 'huber' or 'squared'.
      mask: optional weights, shape [B]: the loss is sum(mask * loss_i) / B.
    """
    error = tf.stop_gradient(tf.cast(targets, tf.float32)) - tf.cast(q_chosen, tf.float32)
    if kind == "huber":
        absolute = tf.abs(error)
        per_sample = tf.where(absolute <= 1.0, 0.5 * tf.square(error), absolute - 0.5)
    elif kind == "squared":
        per_sample = tf.square(error)
    else:
        raise ValueError(f"loss {kind!r} is not one of huber, squared")
    if mask is not None:
        per_sample = tf.cast(mask, tf.float32) * per_sample
    return tf.reduce_mean(per_sample)
