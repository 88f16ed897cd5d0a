"""Padding segments and batches, the padded update, and both dispatchers."""

import threading

import numpy as np
import pytest

from async_deeprl import dispatch
from async_deeprl.q_learning import QLearner


def _state(value):
    return np.full((84, 84, 4), value, np.uint8)


def _segment(values, rewards, bootstrap):
    seg = dispatch.Segment()
    for v, r in zip(values, rewards):
        seg.add(_state(v), v % 3, r)
    seg.bootstrap = bootstrap
    return seg


def test_padded_segment_masks_padding_and_bootstraps_the_last_transition():
    seg = _segment([1, 2, 3], [0.5, 1.0, -1.0], 0.99)
    states, actions, targets, bootstrap, mask, next_state = dispatch.padded_segment(seg, _state(9), 5)
    assert states.shape == (5, 84, 84, 4) and states.dtype == np.uint8
    assert states[:, 0, 0, 0].tolist() == [1, 2, 3, 0, 0]
    assert actions.tolist() == [1, 2, 0, 0, 0] and actions.dtype == np.int32
    np.testing.assert_allclose(targets, [0.5, 1.0, -1.0, 0, 0])
    np.testing.assert_allclose(bootstrap, [0, 0, 0.99, 0, 0])
    np.testing.assert_allclose(mask, [1, 1, 1, 0, 0])
    assert next_state[0, 0, 0] == 9


def test_batch_sizes_are_padded_to_powers_of_two():
    assert [dispatch.batch_size_for(n) for n in (1, 2, 3, 4, 5, 8, 9, 16)] == [1, 2, 4, 4, 8, 8, 16, 16]


def test_padded_update_equals_the_plain_update_with_the_bootstrap_added():
    rng = np.random.default_rng(0)
    padded, reference = QLearner(3), QLearner(3)
    reference.target.set_weights([w * 1.5 for w in reference.online.get_weights()])  # target != online
    _copy_weights(reference, padded)
    seg = _segment([10, 20, 30], [1.0, 0.0, -1.0], 0.9)
    next_state = rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)
    lr = np.float32(1e-3)
    loss = padded.train_segment(*dispatch.padded_segment(seg, next_state, 5), lr)

    boot = float(reference.target(next_state[None]).numpy().max())
    expected_loss = reference.train(np.stack(seg.states), np.array([1, 2, 0], np.int32),
                                    np.array([1.0, 0.0, -1.0 + 0.9 * boot], np.float32), lr)
    np.testing.assert_allclose(float(loss), float(expected_loss), rtol=1e-5)
    for a, b in zip(padded.online.weights, reference.online.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-7)


def _copy_weights(src, dst):
    for a, b in zip(src.online.weights + src.target.weights, dst.online.weights + dst.target.weights):
        b.assign(a)


@pytest.mark.parametrize("dispatcher_class", [dispatch.DirectDispatcher, dispatch.BatchingDispatcher])
def test_dispatchers_answer_every_thread(dispatcher_class):
    learner = QLearner(3)
    learner.warm_up(5, [1, 2, 4, 8])
    dispatcher = dispatcher_class(learner, lambda: 1e-4, 5)
    dispatcher.start()
    answers = [[] for _ in range(6)]

    def work(i):
        for n in range(20):
            seg = _segment([i, n], [0.0, 1.0], 0.99) if n % 4 == 3 else None
            q, target_max, loss = dispatcher.request(_state(i), seg)
            answers[i].append((q.shape, np.isfinite(target_max), loss is None, seg is None))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dispatcher.close()
    assert all(len(a) == 20 for a in answers)
    for a in answers:
        for q_shape, finite, no_loss, no_segment in a:
            assert q_shape == (3,) and finite and no_loss == no_segment
    if dispatcher_class is dispatch.BatchingDispatcher:
        assert dispatcher.requests == 120 and dispatcher.calls <= 120
