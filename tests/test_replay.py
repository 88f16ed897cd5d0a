"""DQN's replay buffer rebuilds every stacked state exactly, within one episode, after wrapping."""

import numpy as np
import pytest

from async_deeprl.preprocessing import FrameStack
from async_deeprl.replay import ReplayBuffer, split, windows_of

SIZE = 6


def _play(buffer, stream, episodes, rng, life_loss_every=0):
    """Feeds hand-made episodes (frames numbered so every frame is unique) through a real
    FrameStack, as the environment does; returns every (state, a, r, terminal, next_state)."""
    stack, out, frame_id = FrameStack(4, size=SIZE), [], 1 + 100 * stream
    for length in episodes:
        state = stack.reset(np.full((SIZE, SIZE), frame_id, np.uint8))
        frame_id += 1
        for t in range(length):
            action, reward = int(rng.integers(3)), float(rng.integers(-1, 2))
            game_over = t == length - 1
            terminal = game_over or (life_loss_every and (t + 1) % life_loss_every == 0)
            buffer.add(stream, state, action, reward, terminal)
            nxt = stack.push(np.full((SIZE, SIZE), frame_id, np.uint8))
            frame_id += 1
            out.append((state, action, reward, float(terminal), nxt, game_over))
            state = nxt
    return out


def _index(transitions):
    return {s.tobytes(): (a, r, term, nxt, over) for s, a, r, term, nxt, over in transitions}


def test_states_round_trip_across_episode_boundaries_and_life_losses():
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(1000, streams=1, size=SIZE)
    played = _play(buffer, 0, [2, 7, 1, 5], rng, life_loss_every=3)
    assert len(buffer) == len(played) - 1  # the newest transition's next state is not stored yet
    seen = _index(played)
    windows, actions, rewards, terminals = buffer.sample(500, np.random.default_rng(1))
    assert windows.shape == (500, 5, SIZE, SIZE) and windows.dtype == np.uint8
    assert windows.flags["C_CONTIGUOUS"]  # handed to TensorFlow without a copy
    states, nexts = split(windows)
    assert states.shape == (500, SIZE, SIZE, 4)
    drawn = set()
    for s, a, r, n, term in zip(states, actions, rewards, nexts, terminals):
        a0, r0, term0, n0, over = seen[s.tobytes()]  # exactly a state that was played
        assert (a, r, term) == (a0, r0, term0)
        if not over:
            np.testing.assert_array_equal(n, n0)  # s' of a life loss is the next frame, too
        drawn.add(s.tobytes())
        # No state mixes two episodes: its channels come from one episode's frames.
        ids = sorted(set(s[0, 0]))
        assert max(ids) - min(ids) <= 3
    assert len(drawn) == len(played) - 1  # every stored transition can be drawn


def test_wrap_around_keeps_only_states_whose_frames_are_all_stored():
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(10, streams=1, size=SIZE)
    played = _play(buffer, 0, [8, 9], rng)  # 17 transitions into 10 slots
    assert len(buffer) == 10 - 4
    seen = _index(played)
    states, _ = split(buffer.sample(300, np.random.default_rng(2))[0])
    keys = {s.tobytes() for s in states}
    assert keys <= set(seen)
    # The newest 7 transitions minus the newest one: the 6 states whose 4 frames are kept.
    assert keys == {t[0].tobytes() for t in played[-7:-1]}


def test_streams_stay_apart_and_sampling_covers_all_of_them():
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(100, streams=2, size=SIZE)
    a = _play(buffer, 0, [10], rng)
    b = _play(buffer, 1, [6], rng)
    assert len(buffer) == 9 + 5
    seen = {**_index(a), **_index(b)}
    windows, actions, _, terminals = buffer.sample(400, np.random.default_rng(3))
    states, nexts = split(windows)
    for s, act, n, term in zip(states, actions, nexts, terminals):
        assert seen[s.tobytes()][0] == act
        if not term:
            np.testing.assert_array_equal(n, seen[s.tobytes()][3])
    assert {s.tobytes() for s in states} == set(seen) - {a[-1][0].tobytes(), b[-1][0].tobytes()}


def test_refuses_a_state_that_does_not_follow_and_an_empty_sample():
    buffer = ReplayBuffer(100, size=SIZE)
    with pytest.raises(ValueError, match="no complete transition"):
        buffer.sample(1, np.random.default_rng(0))
    state = np.zeros((SIZE, SIZE, 4), np.uint8)
    buffer.add(0, state, 0, 0.0, False)
    jumbled = np.arange(SIZE * SIZE * 4, dtype=np.uint8).reshape(SIZE, SIZE, 4)
    with pytest.raises(ValueError, match="neither continues"):
        buffer.add(0, jumbled, 0, 0.0, False)


def test_windows_of_inverts_split_for_a_continuing_next_state():
    rng = np.random.default_rng(4)
    states = rng.integers(0, 256, (3, SIZE, SIZE, 4), dtype=np.uint8)
    nexts = np.concatenate([states[..., 1:], rng.integers(0, 256, (3, SIZE, SIZE, 1),
                                                          dtype=np.uint8)], axis=-1)
    windows = windows_of(states, nexts)
    assert windows.shape == (3, 5, SIZE, SIZE)
    np.testing.assert_array_equal(windows[1, 2], states[1, ..., 2])
    np.testing.assert_array_equal(windows[2, 4], nexts[2, ..., 3])
    back_states, back_nexts = split(windows)
    np.testing.assert_array_equal(back_states, states)
    np.testing.assert_array_equal(back_nexts, nexts)


def test_memory_is_one_frame_per_transition():
    buffer = ReplayBuffer(100_000)
    assert buffer.frames.nbytes == 100_000 * 84 * 84
    assert buffer.nbytes < 100_000 * (84 * 84 + 32)
