"""DQN's loss and minibatch update on hand-made numbers."""

import numpy as np
import pytest
import tensorflow as tf

from agent_utils import make_agent, random_segment
from async_deeprl import losses, replay


def test_huber_loss_is_quadratic_within_one_and_linear_beyond():
    q = [0.0, 0.0, 0.0, 0.0]
    y = [0.5, -1.0, 3.0, -2.0]
    # 0.125, 0.5, 2.5, 1.5 -> mean 1.15625
    assert float(losses.td_loss(q, y, "huber")) == pytest.approx(1.15625)
    assert float(losses.td_loss(q, y, "squared")) == pytest.approx((0.25 + 1 + 9 + 4) / 4)
    # Zero weights leave rows out but the mean stays over the batch size.
    assert float(losses.td_loss(q, y, "huber", [1, 1, 0, 0])) == pytest.approx(0.625 / 4)
    with pytest.raises(ValueError):
        losses.td_loss(q, y, "l1")


def test_huber_gradient_is_clipped_to_one():
    q = tf.Variable([0.0, 0.0, 0.0])
    with tf.GradientTape() as tape:
        loss = losses.td_loss(q, [0.5, 4.0, -7.0], "huber")
    np.testing.assert_allclose(tape.gradient(loss, q).numpy(), np.array([-0.5, -1.0, 1.0]) / 3)


@pytest.mark.parametrize("double_q", [False, True])
def test_minibatch_update_matches_the_loss_and_step_by_hand(double_q):
    agent = make_agent("dqn", optimizer="adam", lr=1e-3, batch_size=4, double_q=double_q)
    rng = np.random.default_rng(0)
    warm = random_segment(rng, 4)
    agent.update(*agent.update_args(warm, warm.states[0]), np.float32(0.05))
    assert not np.allclose(agent.online.weights[-2].numpy(), agent.target.weights[-2].numpy())
    seg = random_segment(rng, 3, terminal_last=True)
    next_state = rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)
    args = agent.update_args(seg, next_state)
    windows, actions, rewards, terminals, weights = args
    assert windows.shape == (4, 5, 84, 84) and list(weights) == [1, 1, 1, 0]
    states, next_states = replay.split(windows)
    np.testing.assert_array_equal(states[:3], seg.states)
    # s' continues s: s's newest three frames, then the next state's newest.
    np.testing.assert_array_equal(next_states[0], np.concatenate(
        [seg.states[0][..., 1:], seg.states[1][..., -1:]], axis=-1))
    np.testing.assert_array_equal(next_states[2][..., -1], next_state[..., -1])
    # By hand: targets from the target network (double: online picks), Huber mean over 4 rows.
    tq = agent.target(next_states).numpy()
    oq = agent.online(next_states).numpy()
    pick = oq.argmax(1) if double_q else tq.argmax(1)
    y = rewards + 0.99 * (1 - terminals) * tq[np.arange(4), pick]
    q = agent.online(states).numpy()[np.arange(4), actions]
    err = np.abs(y - q)
    expected = np.sum(weights * np.where(err <= 1, 0.5 * err ** 2, err - 0.5)) / 4
    loss = float(agent.update(*args, np.float32(1e-3))[0])
    assert loss == pytest.approx(expected, rel=1e-4)
