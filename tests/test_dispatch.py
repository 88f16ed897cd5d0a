"""Batch padding and both dispatchers, on a real agent."""

import threading

import numpy as np
import pytest

from agent_utils import make_agent, random_segment
from async_deeprl import dispatch


def test_batch_sizes_are_padded_to_powers_of_two():
    assert [dispatch.batch_size_for(n) for n in (1, 2, 3, 4, 5, 8, 9, 16)] == [1, 2, 4, 4, 8, 8, 16, 16]


def test_make_dispatcher_picks_direct_calls_for_zero_servers():
    agent = make_agent("n_step_q")
    assert isinstance(dispatch.make_dispatcher(dispatch.local_step(agent, lambda: 1e-4), 0), dispatch.DirectDispatcher)
    assert isinstance(dispatch.make_dispatcher(dispatch.local_step(agent, lambda: 1e-4), 2), dispatch.BatchingDispatcher)


@pytest.mark.parametrize("servers", [0, 1, 2])
def test_dispatchers_answer_every_thread(servers):
    agent = make_agent("one_step_q")
    agent.warm_up([1, 2, 4, 8])
    dispatcher = dispatch.make_dispatcher(dispatch.local_step(agent, lambda: 1e-4), servers)
    dispatcher.start()
    answers = [[] for _ in range(6)]

    def work(i):
        rng = np.random.default_rng(i)
        for n in range(20):
            state = np.full((84, 84, 4), i, np.uint8)
            update = agent.update_args(random_segment(rng, 2), state) if n % 4 == 3 else None
            (q, target_q), stats = dispatcher.request(state, update)
            answers[i].append((q.shape, target_q.shape, stats is None, update is None,
                               np.isfinite(q).all()))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dispatcher.close()
    assert all(len(a) == 20 for a in answers)
    for a in answers:
        for q_shape, target_shape, no_stats, no_update, finite in a:
            assert q_shape == (3,) and target_shape == (3,) and no_stats == no_update and finite
    if servers:
        assert dispatcher.requests == 120 and dispatcher.calls <= 120


def test_batched_acting_equals_acting_alone():
    agent = make_agent("n_step_q")
    rng = np.random.default_rng(0)
    states = [rng.integers(0, 256, (84, 84, 4), dtype=np.uint8) for _ in range(3)]
    together = dispatch.run_step(agent, 0.0, states, [None] * 3)
    for state, ((q,), _) in zip(states, together):
        np.testing.assert_allclose(q, agent.act(state[None])[0].numpy()[0], rtol=1e-5, atol=1e-6)
