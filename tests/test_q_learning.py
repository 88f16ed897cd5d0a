"""The one-step target helper and the shared learner's TF functions."""

import numpy as np
import pytest
import tensorflow as tf

from async_deeprl.q_learning import QLearner, one_step_targets


def test_one_step_targets_on_hand_made_numbers():
    y = one_step_targets(rewards=[1.0, 0.0, -1.0, 0.5], next_max_q=[2.0, 3.0, 10.0, -4.0],
                         terminals=[0, 0, 1, 0], gamma=0.5)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [2.0, 1.5, -1.0, -1.5])
    np.testing.assert_allclose(one_step_targets([0.0], [7.0], [0], gamma=0.0), [0.0])
    np.testing.assert_allclose(one_step_targets([0.0], [7.0], [0], gamma=1.0), [7.0])


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    states = rng.integers(0, 256, (5, 84, 84, 4), dtype=np.uint8)
    return states, np.array([0, 1, 2, 0, 1], np.int32), np.array([1, -1, 0.5, 0, 1], np.float32)


def test_network_shapes_and_architecture():
    learner = QLearner(num_actions=3)
    assert [l.name for l in learner.online.layers if l.weights] == ["conv1", "conv2", "fc", "q_values"]
    assert learner.online.input.dtype == "uint8"
    assert learner.online.get_layer("conv1").output.shape[1:] == (20, 20, 16)
    assert learner.online.get_layer("conv2").output.shape[1:] == (9, 9, 32)
    q, target_max = learner.act(np.zeros((2, 84, 84, 4), np.uint8))
    assert q.shape == (2, 3) and q.dtype == tf.float32 and target_max.shape == (2,)


def test_target_starts_as_a_copy_and_act_returns_its_max(batch):
    learner = QLearner(num_actions=3)
    for t, o in zip(learner.target.weights, learner.online.weights):
        np.testing.assert_array_equal(t.numpy(), o.numpy())
    states = batch[0]
    q, target_max = learner.act(states)
    np.testing.assert_allclose(target_max.numpy(), learner.target(states).numpy().max(axis=1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(q.numpy(), learner.online(states).numpy(), rtol=1e-4, atol=1e-6)


def test_train_step_lowers_the_loss_on_a_fixed_batch(batch):
    learner = QLearner(num_actions=3, learning_rate=1e-3)
    lr = np.float32(1e-3)
    losses = [float(learner.train(*batch, lr)) for _ in range(30)]
    assert losses[-1] < 0.1 * losses[0]


def test_one_rmsprop_update_matches_the_paper_formula(batch):
    """v = 0.01 g^2 (rho 0.99 from v = 0), w -= lr g / sqrt(v + 0.1), g clipped to global norm 40."""
    learner = QLearner(num_actions=3)
    states, actions, targets = batch
    targets = targets * 1000.0  # Large errors, so the global-norm clip is active.
    weights = [w.numpy() for w in learner.online.trainable_variables]
    with tf.GradientTape() as tape:
        q = learner.online(states)
        chosen = tf.gather(q, actions, axis=1, batch_dims=1)
        loss = tf.reduce_sum(tf.square(targets - chosen))
    grads = tape.gradient(loss, learner.online.trainable_variables)
    assert tf.linalg.global_norm(grads).numpy() > 40.0
    clipped, _ = tf.clip_by_global_norm(grads, 40.0)
    lr = 5e-4
    learner.train(states, actions, targets, np.float32(lr))
    for w0, g, w1 in zip(weights, clipped, learner.online.trainable_variables):
        expected = w0 - lr * g.numpy() / np.sqrt(0.01 * g.numpy() ** 2 + 0.1)
        np.testing.assert_allclose(w1.numpy(), expected, rtol=1e-4, atol=1e-7)


def test_target_changes_only_at_sync(batch):
    learner = QLearner(num_actions=3)
    before = [w.numpy() for w in learner.target.weights]
    learner.train(*batch, np.float32(1e-3))
    for b, t in zip(before, learner.target.weights):
        np.testing.assert_array_equal(b, t.numpy())
    learner.sync_target()
    for t, o in zip(learner.target.weights, learner.online.weights):
        np.testing.assert_array_equal(t.numpy(), o.numpy())


def test_concurrent_updates_from_many_threads_stay_finite(batch):
    import threading

    learner = QLearner(num_actions=3)
    learner.train(*batch, np.float32(1e-4))  # trace once

    def work():
        for _ in range(20):
            learner.train(*batch, np.float32(1e-4))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.isfinite(w.numpy()).all() for w in learner.online.weights)


def test_non_finite_update_is_never_applied(batch):
    learner = QLearner(num_actions=3)
    learner.train(*batch, np.float32(1e-3))
    weights = [w.numpy() for w in learner.online.weights]
    slots = [v.numpy() for v in learner.optimizer.variables if "iteration" not in v.path]
    states, actions, targets = batch
    for bad in (np.nan, np.inf):
        poisoned = targets.copy()
        poisoned[2] = bad
        loss = learner.train(states, actions, poisoned, np.float32(1e-3))
        assert not np.isfinite(float(loss))
    for before, after in zip(weights, learner.online.weights):
        np.testing.assert_array_equal(before, after.numpy())
    for before, after in zip(slots, [v for v in learner.optimizer.variables if "iteration" not in v.path]):
        np.testing.assert_array_equal(before, after.numpy())
    assert np.isfinite(float(learner.train(*batch, np.float32(1e-3))))  # healthy again
