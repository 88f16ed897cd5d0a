"""A3C: its loss on hand-made numbers, its compiled update against a hand computation, sampling."""

import numpy as np
import pytest
import tensorflow as tf

from agent_utils import make_agent, random_segment
from async_deeprl import losses, targets
from async_deeprl.agents import a3c, policies

# A 2-step segment: pi(.|s_0) = [1/4, 3/4], pi(.|s_1) = [2/3, 1/3].
LOGITS = np.array([[0.0, np.log(3.0)], [np.log(2.0), 0.0]], np.float32)


def test_actor_critic_loss_of_a_two_step_segment_by_hand():
    values, returns, actions = [1.0, 0.5], [2.0, 0.0], [1, 0]
    loss, parts = losses.actor_critic_loss(LOGITS, values, actions, returns, [1.0, 1.0],
                                           value_coef=0.5, entropy_beta=0.01)
    # Advantages 2 - 1 = 1 and 0 - 0.5 = -0.5.
    policy = -(np.log(0.75) * 1.0 + np.log(2 / 3) * -0.5)
    value = 1.0 ** 2 + 0.5 ** 2
    h0 = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))
    h1 = -(2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3))
    np.testing.assert_allclose(float(parts["policy_loss"]), policy, rtol=1e-6)
    np.testing.assert_allclose(float(parts["value_loss"]), value, rtol=1e-6)
    np.testing.assert_allclose(float(parts["entropy"]), (h0 + h1) / 2, rtol=1e-6)
    np.testing.assert_allclose(float(parts["advantage_abs"]), 0.75, rtol=1e-6)
    np.testing.assert_allclose(float(loss), policy + 0.5 * value - 0.01 * (h0 + h1), rtol=1e-6)


def test_actor_critic_loss_ignores_padding():
    padded = np.concatenate([LOGITS, [[5.0, -5.0]]]).astype(np.float32)
    a, _ = losses.actor_critic_loss(LOGITS, [1.0, 0.5], [1, 0], [2.0, 0.0], [1, 1], 0.5, 0.01)
    b, _ = losses.actor_critic_loss(padded, [1.0, 0.5, 9.0], [1, 0, 1], [2.0, 0.0, -3.0],
                                    [1, 1, 0], 0.5, 0.01)
    np.testing.assert_allclose(float(a), float(b), rtol=1e-6)


def test_returns_and_advantages_with_a_terminal_inside_the_segment():
    # r = [1, 0, 1], terminal after the second step, bootstrap V(s_3) = 10, gamma 0.5.
    returns = targets.n_step_returns([1.0, 0.0, 1.0], [0.0, 1.0, 0.0], 10.0, 0.5).numpy()
    np.testing.assert_allclose(returns, [1.0, 0.0, 6.0])
    values = np.array([0.5, 0.5, 0.5], np.float32)
    _, parts = losses.actor_critic_loss(np.zeros((3, 2), np.float32), values, [0, 0, 0],
                                        returns, [1, 1, 1], 0.5, 0.0)
    np.testing.assert_allclose(float(parts["advantage_abs"]), (0.5 + 0.5 + 5.5) / 3, rtol=1e-6)


def test_policy_gradient_raises_the_probability_of_an_action_with_positive_advantage():
    logits = tf.Variable(np.zeros((1, 3), np.float32))
    with tf.GradientTape() as tape:
        loss, _ = losses.actor_critic_loss(logits, [0.0], [2], [1.0], [1.0], 0.5, 0.0)
    step = -tape.gradient(loss, logits).numpy()[0]
    assert step[2] > 0 > step[0] and step[0] == pytest.approx(step[1])
    # The value regresses towards R: d/dV 0.5 (R - V)^2 = -(R - V).
    values = tf.Variable([0.25])
    with tf.GradientTape() as tape:
        loss, _ = losses.actor_critic_loss(np.zeros((1, 3), np.float32), values, [2], [1.0],
                                           [1.0], 0.5, 0.0)
    np.testing.assert_allclose(tape.gradient(loss, values).numpy(), [-0.75], rtol=1e-6)


def test_the_entropy_term_raises_entropy():
    logits = tf.Variable([[2.0, 0.0, -1.0]])
    # Advantage 0 (R = V): only the entropy term has a gradient.
    with tf.GradientTape() as tape:
        loss, parts = losses.actor_critic_loss(logits, [1.0], [0], [1.0], [1.0], 0.5, 0.01)
    before = float(parts["entropy"])
    logits.assign_sub(10.0 * tape.gradient(loss, logits))
    _, parts = losses.actor_critic_loss(logits, [1.0], [0], [1.0], [1.0], 0.5, 0.01)
    assert float(parts["entropy"]) > before + 1e-3


def test_sampling_follows_the_policy_probabilities():
    probs = np.array([0.1, 0.6, 0.3], np.float32)
    rng = np.random.default_rng(0)
    n = 30_000
    counts = np.bincount([policies.sample_action(probs, rng) for _ in range(n)], minlength=3)
    chi2 = float(((counts - n * probs) ** 2 / (n * probs)).sum())
    assert chi2 < 13.8  # chi-square, 2 degrees of freedom, p = 0.001
    assert policies.sample_action(np.array([0.0, 0.0, 1.0]), rng) == 2
    # The player samples the same way from its acting outputs.
    agent = make_agent("a3c")
    player = agent.player(0, np.random.default_rng(1))
    draws = [player.act((probs, np.float32(0.5)), 0) for _ in range(3_000)]
    assert abs(np.mean(np.array(draws) == 1) - 0.6) < 0.04
    stats = player.drain_stats()
    np.testing.assert_allclose(stats["policy_entropy"][0] / stats["policy_entropy"][1],
                               a3c.entropy(probs), rtol=1e-6)
    assert stats["value_mean"] == (pytest.approx(1_500.0), 3_000)


def test_network_heads_and_acting_outputs():
    agent = make_agent("a3c")
    assert [l.name for l in agent.online.layers if l.weights] == [
        "conv1", "conv2", "fc", "policy_logits", "value"]
    probs, value = agent.act(np.zeros((2, 84, 84, 4), np.uint8))
    assert probs.shape == (2, 3) and value.shape == (2,)
    np.testing.assert_allclose(probs.numpy().sum(axis=1), 1.0, rtol=1e-6)
    assert not agent.uses_target_network and "target" not in agent.checkpoint_items()


@pytest.mark.parametrize("terminal", [False, True])
def test_update_equals_the_loss_and_rmsprop_step_done_by_hand(terminal):
    agent, copy = make_agent("a3c", tmax=5), make_agent("a3c", tmax=5)
    for a, b in zip(agent.online.weights, copy.online.weights):
        b.assign(a)
    rng = np.random.default_rng(7)
    seg = random_segment(rng, 4, terminal_last=terminal, with_next=False)
    next_state = rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)
    stats = agent.update(*agent.update_args(seg, next_state), np.float32(1e-3)).numpy()

    cfg = copy.config
    bootstrap = float(copy.online(next_state[None])[1][0, 0])
    returns = targets.n_step_returns(seg.rewards, seg.terminals, bootstrap, cfg.gamma)
    variables = copy.online.trainable_variables
    with tf.GradientTape() as tape:
        logits, values = copy.online(np.stack(seg.states))
        loss, parts = losses.actor_critic_loss(logits, values[:, 0], seg.actions, returns,
                                               np.ones(4), 0.5, 0.01)
    grads = tape.gradient(loss, variables)
    copy.optimizer.learning_rate.assign(1e-3)
    copy.optimizer.apply_gradients(zip(grads, variables))
    np.testing.assert_allclose(stats, [float(loss), float(parts["policy_loss"]),
                                       float(parts["value_loss"]),
                                       float(parts["advantage_abs"])], rtol=2e-4, atol=1e-5)
    for a, b in zip(agent.online.weights, copy.online.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_test_policy_modes():
    agent = make_agent("a3c", eval_policy="greedy")
    state = np.zeros((84, 84, 4), np.uint8)
    best = int(np.argmax(agent.probs(state[None]).numpy()[0]))
    policy = agent.test_policy(0.0)
    rng = np.random.default_rng(0)
    assert {policy(state, rng, 3) for _ in range(20)} == {best}
    with pytest.raises(ValueError):
        policies.stochastic_policy(agent.probs, 0.0, "argmax")


@pytest.mark.parametrize("algorithm", ["a3c", "a3c_lstm"])
def test_gae_lambda_changes_only_the_policy_terms_advantages(algorithm):
    """At --gae_lambda 0.5 the update's loss is actor_critic_loss with the GAE advantages of
    the same values; its value loss (the n-step returns' regression) is the default's."""
    rng = np.random.default_rng(4)
    seg = random_segment(rng, 4, with_next=False)
    next_state = rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)
    paper, gae = (make_agent(algorithm, gamma=0.9, gae_lambda=lam) for lam in (1.0, 0.5))
    gae.set_weights(paper.get_weights())
    one = paper.update(*paper.update_args(seg, next_state), np.float32(0.0)).numpy()
    half = gae.update(*gae.update_args(seg, next_state), np.float32(0.0)).numpy()
    assert half[2] == pytest.approx(one[2], rel=1e-5)  # value loss: same returns, same values
    assert abs(half[1] - one[1]) > 1e-4  # policy loss: other advantages
    if algorithm == "a3c":  # by hand from the feed-forward network's outputs
        frames = np.stack(seg.states)
        logits, values = (np.asarray(t) for t in paper.online(frames))
        bootstrap = float(np.asarray(paper.online(next_state[None])[1])[0, 0])
        returns = targets.n_step_returns(seg.rewards, seg.terminals, bootstrap, 0.9)
        advantages = targets.gae_advantages(seg.rewards, values[:, 0], seg.terminals, bootstrap,
                                            0.9, 0.5)
        loss, _ = losses.actor_critic_loss(logits, values[:, 0], seg.actions, returns,
                                           np.ones(4, np.float32), 0.5, 0.01, advantages)
        assert half[0] == pytest.approx(float(loss), rel=1e-4, abs=1e-4)
