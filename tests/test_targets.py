"""The pure target functions on hand-made numbers."""

import numpy as np
import pytest

from async_deeprl import targets


def _np(tensor):
    out = np.asarray(tensor)
    assert out.dtype == np.float32
    return out


NEXT_Q = [[2.0, 1.0], [3.0, 0.0], [10.0, 0.0], [-4.0, -5.0]]


def test_q_learning_targets_take_the_max_and_stop_at_terminals():
    y = targets.q_learning_targets([1.0, 0.0, -1.0, 0.5], NEXT_Q, [0, 0, 1, 0], gamma=0.5)
    np.testing.assert_allclose(_np(y), [2.0, 1.5, -1.0, -1.5])
    np.testing.assert_allclose(_np(targets.q_learning_targets([0.25], [[7.0, 1.0]], [0], 0.0)), [0.25])
    np.testing.assert_allclose(_np(targets.q_learning_targets([0.25], [[7.0, 1.0]], [0], 1.0)), [7.25])


def test_double_q_targets_let_the_online_network_pick_and_the_target_value():
    online = [[0.0, 1.0], [5.0, 4.0], [0.0, 9.0], [1.0, 0.0]]
    y = targets.double_q_targets([1.0, 0.0, -1.0, 0.5], NEXT_Q, online, [0, 0, 1, 0], gamma=0.5)
    # picks a' = 1, 0, (terminal), 0 -> target values 1.0, 3.0, -, -4.0
    np.testing.assert_allclose(_np(y), [1.5, 1.5, -1.0, -1.5])
    # Where the online network agrees with the target's argmax it is Q-learning's target.
    np.testing.assert_allclose(_np(targets.double_q_targets([0.0], [[2.0, 5.0]], [[0.0, 1.0]], [0], 1.0)),
                               _np(targets.q_learning_targets([0.0], [[2.0, 5.0]], [0], 1.0)))


def test_sarsa_targets_use_the_action_taken_not_the_max():
    y = targets.sarsa_targets([1.0, 0.0, -1.0, 0.5], NEXT_Q, [1, 1, 0, 1], [0, 0, 1, 0], gamma=0.5)
    np.testing.assert_allclose(_np(y), [1.5, 0.0, -1.0, -2.0])
    # The greedy action gives the Q-learning target; another action does not.
    greedy = targets.sarsa_targets([0.0], [[2.0, 5.0]], [1], [0], 1.0)
    other = targets.sarsa_targets([0.0], [[2.0, 5.0]], [0], [0], 1.0)
    np.testing.assert_allclose([_np(greedy)[0], _np(other)[0]], [5.0, 2.0])
    np.testing.assert_allclose(_np(targets.sarsa_targets([0.5], [[9.0, 9.0]], [0], [0], 0.0)), [0.5])


def test_n_step_returns_bootstrap_at_the_end():
    r = targets.n_step_returns([1.0, 0.0, 2.0], [0, 0, 0], bootstrap=10.0, gamma=0.5)
    np.testing.assert_allclose(_np(r), [2.75, 3.5, 7.0])  # 7 = 2 + 0.5 * 10, 3.5 = 0.5 * 7, ...


def test_n_step_returns_cut_at_a_terminal_inside_the_segment():
    r = targets.n_step_returns([1.0, 0.0, 2.0], [0, 1, 0], bootstrap=10.0, gamma=0.5)
    np.testing.assert_allclose(_np(r), [1.0, 0.0, 7.0])
    r = targets.n_step_returns([1.0, 0.0, 2.0], [0, 0, 1], bootstrap=10.0, gamma=0.5)
    np.testing.assert_allclose(_np(r), [1.5, 1.0, 2.0])  # Terminal at the end: no bootstrap.


@pytest.mark.parametrize("gamma, expected", [(0.0, [1.0, 0.0, 2.0]), (1.0, [13.0, 12.0, 12.0])])
def test_n_step_returns_at_gamma_zero_and_one(gamma, expected):
    r = targets.n_step_returns([1.0, 0.0, 2.0], [0, 0, 0], bootstrap=10.0, gamma=gamma)
    np.testing.assert_allclose(_np(r), expected)


def test_n_step_returns_ignore_padding():
    padded = targets.n_step_returns([1.0, 2.0, 99.0, 99.0], [0, 0, 1, 1], 4.0, 0.5,
                                    mask=[1, 1, 0, 0])
    plain = targets.n_step_returns([1.0, 2.0], [0, 0], 4.0, 0.5)
    np.testing.assert_allclose(_np(padded)[:2], _np(plain))
    np.testing.assert_allclose(_np(plain), [3.0, 4.0])


def test_gae_advantages_by_hand():
    # gamma 0.5, lam 0.5, V = [1, 2, 3], bootstrap 4: deltas 0.5+1-1=0.5, 0+1.5-2=-0.5, 1+2-3=0
    # A_2 = 0, A_1 = -0.5 + 0.25 * 0 = -0.5, A_0 = 0.5 + 0.25 * -0.5 = 0.375
    a = targets.gae_advantages([0.5, 0.0, 1.0], [1.0, 2.0, 3.0], [0, 0, 0], 4.0, 0.5, 0.5)
    np.testing.assert_allclose(_np(a), [0.375, -0.5, 0.0])
    # A terminal at index 1: no bootstrap through it (delta_1 = 0 - 2), nothing carried back.
    a = targets.gae_advantages([0.5, 0.0, 1.0], [1.0, 2.0, 3.0], [0, 1, 0], 4.0, 0.5, 0.5)
    np.testing.assert_allclose(_np(a), [0.5 + 0.25 * -2.0, -2.0, 0.0])


def test_gae_at_lambda_one_is_the_papers_n_step_advantage_and_at_zero_the_td_error():
    rewards, values, terminals = [1.0, 0.0, 2.0, -1.0], [0.3, -0.2, 0.9, 0.1], [0, 0, 1, 0]
    returns = _np(targets.n_step_returns(rewards, terminals, 5.0, 0.9))
    one = _np(targets.gae_advantages(rewards, values, terminals, 5.0, 0.9, 1.0))
    np.testing.assert_allclose(one, returns - np.array(values), rtol=1e-6, atol=1e-6)
    zero = _np(targets.gae_advantages(rewards, values, terminals, 5.0, 0.9, 0.0))
    next_values = np.array([-0.2, 0.9, 0.0, 5.0])  # 0 after the terminal, then the bootstrap
    np.testing.assert_allclose(zero, np.array(rewards) + 0.9 * next_values - values, rtol=1e-6)


def test_gae_ignores_padding():
    padded = targets.gae_advantages([1.0, 2.0, 9.0], [0.5, 0.5, 9.0], [0, 0, 1], 4.0, 0.5, 0.5,
                                    mask=[1, 1, 0])
    plain = targets.gae_advantages([1.0, 2.0], [0.5, 0.5], [0, 0], 4.0, 0.5, 0.5)
    np.testing.assert_allclose(_np(padded)[:2], _np(plain))
