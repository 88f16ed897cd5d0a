"""The value-based agents: networks, each compiled update against a hand computation, players.

A3C's own tests are in test_a3c.py; the guards every agent shares are tested here for all.
"""

import threading

import numpy as np
import pytest
import tensorflow as tf

from agent_utils import make_agent, random_segment, train_a_little
from async_deeprl import agents

VALUE_BASED = ("one_step_q", "one_step_sarsa", "n_step_q")


def _copy(src, dst):
    for a, b in zip(src.online.weights + src.target.weights, dst.online.weights + dst.target.weights):
        b.assign(a)


def _manual_step(agent, states, actions, y, lr):
    """The loss and RMSProp step of sum (y - Q(s, a))^2 done by hand, on a copy's weights."""
    with tf.GradientTape() as tape:
        q = agent.online(states)
        loss = tf.reduce_sum(tf.square(y - tf.gather(q, actions, axis=1, batch_dims=1)))
    grads = tape.gradient(loss, agent.online.trainable_variables)
    agent.optimizer.learning_rate.assign(lr)
    agent.optimizer.apply_gradients(zip(grads, agent.online.trainable_variables))
    return float(loss)


@pytest.fixture
def pair():
    """Two agents of one algorithm with equal weights and a target network unlike the online one."""
    def build(algorithm):
        a, b = make_agent(algorithm), make_agent(algorithm)
        a.target.set_weights([w * 1.5 for w in a.online.get_weights()])
        _copy(a, b)
        return a, b
    return build


def test_network_shapes_and_acting_outputs():
    for name in VALUE_BASED:
        agent = make_agent(name)
        assert [l.name for l in agent.online.layers if l.weights] == ["conv1", "conv2", "fc", "q_values"]
        assert agent.online.input.dtype == "uint8"
        assert agent.online.get_layer("conv1").output.shape[1:] == (20, 20, 16)
        assert agent.online.get_layer("conv2").output.shape[1:] == (9, 9, 32)
        outputs = agent.act(np.zeros((2, 84, 84, 4), np.uint8))
        assert outputs[0].shape == (2, 3) and outputs[0].dtype == tf.float32
        # n-step Q acts on the online network alone; the one-step agents also read the target.
        assert len(outputs) == (1 if name == "n_step_q" else 2)


def test_target_starts_as_a_copy_and_changes_only_at_sync():
    agent = make_agent("n_step_q")
    for t, o in zip(agent.target.weights, agent.online.weights):
        np.testing.assert_array_equal(t.numpy(), o.numpy())
    before = [w.numpy() for w in agent.target.weights]
    train_a_little(agent, 0)
    for b, t in zip(before, agent.target.weights):
        np.testing.assert_array_equal(b, t.numpy())
    agent.sync_target()
    for t, o in zip(agent.target.weights, agent.online.weights):
        np.testing.assert_array_equal(t.numpy(), o.numpy())


def test_one_step_q_update_equals_the_hand_computation(pair):
    agent, reference = pair("one_step_q")
    rng = np.random.default_rng(0)
    seg = random_segment(rng, 3)
    seg.next_q[-1] = None  # The last transition bootstraps from next_state inside the update.
    next_state = rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)
    loss = float(agent.update(*agent.update_args(seg, next_state), np.float32(1e-3))[0])
    rows = np.stack(seg.next_q[:2] + [reference.target(next_state[None]).numpy()[0]])
    y = np.array(seg.rewards, np.float32) + 0.99 * rows.max(axis=1)
    expected = _manual_step(reference, np.stack(seg.states), np.array(seg.actions), y, 1e-3)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    for a, b in zip(agent.online.weights, reference.online.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-7)


def test_sarsa_update_bootstraps_from_the_next_action_taken(pair):
    agent, reference = pair("one_step_sarsa")
    rng = np.random.default_rng(1)
    seg = random_segment(rng, 4, terminal_last=True)
    loss = float(agent.update(*agent.update_args(seg, None), np.float32(1e-3))[0])
    taken = np.array([row[a] for row, a in zip(seg.next_q, seg.next_actions)], np.float32)
    y = np.array(seg.rewards, np.float32) + 0.99 * taken * np.array([1, 1, 1, 0], np.float32)
    expected = _manual_step(reference, np.stack(seg.states), np.array(seg.actions), y, 1e-3)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


@pytest.mark.parametrize("terminal", [False, True])
def test_n_step_update_regresses_on_the_forward_view_returns(pair, terminal):
    agent, reference = pair("n_step_q")
    rng = np.random.default_rng(2)
    seg = random_segment(rng, 3, terminal_last=terminal, with_next=False)
    next_state = rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)
    loss = float(agent.update(*agent.update_args(seg, next_state), np.float32(1e-3))[0])
    ret = 0.0 if terminal else float(reference.target(next_state[None]).numpy().max())
    returns = []
    for r in reversed(seg.rewards):
        ret = r + 0.99 * ret
        returns.insert(0, ret)
    expected = _manual_step(reference, np.stack(seg.states), np.array(seg.actions),
                            np.array(returns, np.float32), 1e-3)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


@pytest.mark.parametrize("epsilon", [0.1, 1e-5])
def test_one_rmsprop_update_matches_the_paper_formula(epsilon):
    """v = 0.01 g^2 (rho 0.99 from v = 0), w -= lr g / sqrt(v + epsilon), g clipped to global
    norm 40; epsilon the paper's 0.1 (the default) or --rmsprop_epsilon's."""
    agent = make_agent("one_step_q", rmsprop_epsilon=epsilon)
    rng = np.random.default_rng(0)
    seg = random_segment(rng, 5)
    seg.terminals = [1.0] * 5  # y = r exactly
    seg.rewards = [1000.0 * r for r in seg.rewards]  # Large errors: the clip is active.
    states, actions, y = np.stack(seg.states), np.array(seg.actions), np.array(seg.rewards, np.float32)
    weights = [w.numpy() for w in agent.online.trainable_variables]
    with tf.GradientTape() as tape:
        q = agent.online(states)
        loss = tf.reduce_sum(tf.square(y - tf.gather(q, actions, axis=1, batch_dims=1)))
    grads = tape.gradient(loss, agent.online.trainable_variables)
    assert tf.linalg.global_norm(grads).numpy() > 40.0
    clipped, _ = tf.clip_by_global_norm(grads, 40.0)
    lr = 5e-4
    agent.update(*agent.update_args(seg, states[0]), np.float32(lr))
    for w0, g, w1 in zip(weights, clipped, agent.online.trainable_variables):
        expected = w0 - lr * g.numpy() / np.sqrt(0.01 * g.numpy() ** 2 + epsilon)
        np.testing.assert_allclose(w1.numpy(), expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("algorithm", VALUE_BASED)
def test_updates_lower_the_loss_on_a_fixed_segment(algorithm):
    agent = make_agent(algorithm)
    rng = np.random.default_rng(3)
    seg = random_segment(rng, 5, terminal_last=True)
    seg.terminals = [1.0] * 5  # Fixed targets: the loss must fall.
    args = agent.update_args(seg, seg.states[0])
    losses = [float(agent.update(*args, np.float32(1e-3))[0]) for _ in range(30)]
    assert losses[-1] < 0.1 * losses[0]


def test_concurrent_updates_from_many_threads_are_applied_and_stay_finite():
    agent = make_agent("n_step_q")
    train_a_little(agent, 0, steps=1, lr=1e-4)  # trace once
    before = [w.numpy().copy() for w in agent.online.weights]
    applied = int(agent.optimizer.iterations.numpy())
    threads = [threading.Thread(target=train_a_little, args=(agent, i, 20, 1e-4)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.isfinite(w.numpy()).all() for w in agent.online.weights)
    assert all((w.numpy() != w0).any() for w, w0 in zip(agent.online.weights, before))
    # Lock-free, as the paper's threads: every one of the 160 updates was applied (the step
    # count itself may lose a concurrent increment, so it is checked loosely).
    assert int(agent.optimizer.iterations.numpy()) - applied >= 100


@pytest.mark.parametrize("algorithm", agents.NAMES)
def test_non_finite_update_is_never_applied(algorithm):
    agent = make_agent(algorithm)
    train_a_little(agent, 0, steps=1)
    weights = [w.numpy() for w in agent.online.weights]
    slots = [v.numpy() for v in agent.optimizer.variables if "iteration" not in v.path]
    rng = np.random.default_rng(4)
    for bad in (np.nan, np.inf):
        seg = random_segment(rng, 5)
        seg.rewards[2] = bad
        stats = agent.update(*agent.update_args(seg, seg.states[0]), np.float32(1e-3)).numpy()
        assert not np.isfinite(stats).any()
    for before, after in zip(weights, agent.online.weights):
        np.testing.assert_array_equal(before, after.numpy())
    for before, after in zip(slots, [v for v in agent.optimizer.variables if "iteration" not in v.path]):
        np.testing.assert_array_equal(before, after.numpy())
    assert np.isfinite(train_a_little(agent, 5, steps=1)[0])  # healthy again


def _greedy_player(algorithm, tmax=3):
    agent = make_agent(algorithm, tmax=tmax, eps_start=0.0, eps_steps=0)
    agent.prepare_threads(1, np.random.default_rng(0), restored=False)
    return agent, agent.player(0, np.random.default_rng(0))


def _state(v):
    return np.full((84, 84, 4), v, np.uint8)


def test_sarsa_player_bootstraps_each_transition_from_the_action_it_takes_next():
    agent, player = _greedy_player("one_step_sarsa", tmax=2)
    sent = []
    for t in range(4):
        q = np.eye(3, dtype=np.float32)[t % 3]  # greedy action t % 3
        target_q = np.full(3, 10.0 * t, np.float32) + np.arange(3)
        assert player.act((q, target_q), step=t) == t % 3
        player.observe(_state(t), t % 3, 0.5, terminal=False)
        sent.append(player.take_update(_state(t + 1)))
    # The first segment (t = 0, 1) is complete once the action at t = 2 is chosen: sent at t = 2.
    assert sent[0] is None and sent[1] is None and sent[3] is None
    states, actions, rewards, terminals, next_q, next_actions, mask = sent[2]
    assert states[:, 0, 0, 0].tolist() == [0, 1] and actions.tolist() == [0, 1]
    assert next_actions.tolist() == [1, 2]  # the actions taken at t = 1 and t = 2
    np.testing.assert_allclose(next_q[:, 0], [10.0, 20.0])
    np.testing.assert_allclose(mask, [1, 1])


def test_sarsa_player_sends_a_terminal_transition_without_a_bootstrap():
    agent, player = _greedy_player("one_step_sarsa", tmax=5)
    q = np.array([0.0, 1.0, 0.0], np.float32)
    player.act((q, q), 0)
    player.observe(_state(1), 1, 1.0, terminal=True)
    assert player.take_update(_state(2)) is None
    player.act((q, q), 1)  # the first action of the next episode closes the segment
    player.observe(_state(2), 1, 0.0, terminal=False)
    args = player.take_update(_state(3))
    assert args[3].tolist() == [1, 0, 0, 0, 0] and args[6].tolist() == [1, 0, 0, 0, 0]


def test_one_step_q_player_fills_bootstrap_rows_from_acting_outputs():
    agent, player = _greedy_player("one_step_q", tmax=3)
    sent = []
    for t in range(3):
        player.act((np.zeros(3, np.float32), np.full(3, float(t), np.float32)), t)
        player.observe(_state(t), 0, 0.0, terminal=False)
        sent.append(player.take_update(_state(t + 1)))
    assert sent[:2] == [None, None]
    next_q = sent[2][4]
    # Rows of s'_0 and s'_1 came with the acting calls at t = 1, 2; the last is left to the update.
    np.testing.assert_allclose(next_q[:, 0], [1.0, 2.0, 0.0])
    assert sent[2][6][0, 0, 0] == 3  # next_state


@pytest.mark.parametrize("algorithm", ["one_step_q", "n_step_q"])
def test_segments_end_at_tmax_or_at_a_terminal(algorithm):
    agent, player = _greedy_player(algorithm, tmax=4)
    outputs = tuple(np.zeros(3, np.float32) for _ in agent.act(np.zeros((1, 84, 84, 4), np.uint8)))
    lengths = []
    for t, terminal in enumerate([0, 0, 1, 0, 0, 0, 0, 0]):
        player.act(outputs, t)
        player.observe(_state(t), 0, 0.0, bool(terminal))
        args = player.take_update(_state(t + 1))
        if args is not None:
            lengths.append(int(args[-2 if algorithm == "n_step_q" else 5].sum()))
    assert lengths == [3, 4]


@pytest.mark.parametrize("algorithm", agents.NAMES)
def test_warm_up_changes_no_weight_and_steps_the_optimizer_only_when_it_compiles_the_update(
        algorithm):
    """`warm_up` runs the update on an all-zero mask at rate 0 (the optimizer's step count goes
    to 1, no weight moves); a worker process's `warm_up(update=False)` runs only the acting
    calls (the step count stays 0)."""
    for update, steps in ((True, 1), (False, 0)):
        agent = make_agent(algorithm)
        before = agent.get_weights()
        agent.warm_up([1, 2], update=update)
        assert int(agent.optimizer.iterations.numpy()) == steps
        for name, weights in agent.get_weights().items():
            for a, b in zip(before[name], weights):
                np.testing.assert_array_equal(a, b)
