"""Packing segments, the fused step call, and both dispatchers."""

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


def test_pack_pads_segments_and_points_bootstraps_at_their_request():
    segs = [_segment([1, 2], [0.5, 1.0], 0.99), None, _segment([3, 4, 5], [0.0, -1.0, 1.0], 0.0)]
    states, seg_states, actions, targets, bootstrap, boot_index, mask = dispatch.pack(
        [_state(7), _state(8), _state(9)], segs, tmax=4)
    assert states.shape == (3, 84, 84, 4) and states.dtype == np.uint8
    assert seg_states.shape == (2, 4, 84, 84, 4)
    assert seg_states[0, 1, 0, 0, 0] == 2 and seg_states[1, 2, 0, 0, 0] == 5
    assert seg_states[0, 2:].max() == 0  # padding
    assert actions.tolist() == [[1, 2, 0, 0], [0, 1, 2, 0]]
    np.testing.assert_allclose(targets, [[0.5, 1.0, 0, 0], [0.0, -1.0, 1.0, 0]])
    np.testing.assert_allclose(bootstrap, [[0, 0.99, 0, 0], [0, 0, 0, 0]])
    assert boot_index.tolist() == [0, 2]
    np.testing.assert_allclose(mask, [[1, 1, 0, 0], [1, 1, 1, 0]])


def test_pack_without_segments_gives_empty_arrays():
    packed = dispatch.pack([_state(1)], [None], tmax=5)
    assert packed[1].shape == (0, 5, 84, 84, 4) and packed[5].shape == (0,)


def _copy_weights(src, dst):
    for a, b in zip(src.online.weights + src.target.weights, dst.online.weights + dst.target.weights):
        b.assign(a)


def test_step_equals_sequential_updates_then_acting():
    rng = np.random.default_rng(0)
    fused, reference = QLearner(3), QLearner(3)
    reference.target.set_weights([w * 1.5 for w in fused.target.get_weights()])  # target != online
    _copy_weights(reference, fused)
    states = [rng.integers(0, 256, (84, 84, 4), dtype=np.uint8) for _ in range(3)]
    segs = [_segment([10, 20, 30], [1.0, 0.0, -1.0], 0.9), None, _segment([40, 50], [0.5, 1.0], 0.0)]
    lr = np.float32(1e-3)
    q, target_max, losses = fused.step(*dispatch.pack(states, segs, tmax=5), lr)

    boot = float(np.max(reference.target(np.stack(states)).numpy()[0]))
    seg0_targets = np.array([1.0, 0.0, -1.0 + 0.9 * boot], np.float32)
    loss0 = reference.train(np.stack(segs[0].states), np.array([1, 2, 0], np.int32), seg0_targets, lr)
    loss1 = reference.train(np.stack(segs[2].states), np.array([1, 2], np.int32),
                            np.array([0.5, 1.0], np.float32), lr)
    np.testing.assert_allclose(losses.numpy(), [float(loss0), float(loss1)], rtol=1e-5)
    np.testing.assert_allclose(target_max.numpy(),
                               reference.target(np.stack(states)).numpy().max(axis=1), rtol=1e-5)
    np.testing.assert_allclose(q.numpy(), reference.online(np.stack(states)).numpy(), rtol=1e-4, atol=1e-6)
    for a, b in zip(fused.online.weights, reference.online.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("dispatcher_class", [dispatch.DirectDispatcher, dispatch.BatchingDispatcher])
def test_dispatchers_answer_every_thread(dispatcher_class):
    learner = QLearner(3)
    learner.trace()
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
