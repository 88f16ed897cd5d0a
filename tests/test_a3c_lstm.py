"""A3C LSTM: the update against an unroll done by hand, a thread's LSTM state carried between
acting calls, reset where an episode starts, never mixed between threads in a batched call."""

import numpy as np
import pytest

from agent_utils import make_agent, random_segment
from async_deeprl import dispatch
from async_deeprl.agents import a3c_lstm, policies


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _lstm_by_hand(model, features, h, c):
    """One thread's LSTM and heads over `features` [T, F] from (h, c), in NumPy (Keras's gate
    order i, f, c, o): returns (logits [T, A], values [T], h, c)."""
    core = model.get_layer("core")
    kernel, recurrent, bias = core.get_layer("lstm").get_weights()
    w_pi, b_pi = core.get_layer("policy_logits").get_weights()
    w_v, b_v = core.get_layer("value").get_weights()
    logits, values = [], []
    for x in features:
        z = x @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        logits.append(h @ w_pi + b_pi)
        values.append(float((h @ w_v + b_v)[0]))
    return np.array(logits), np.array(values), h, c


def _loss_by_hand(logits, values, actions, rewards, terminals, bootstrap, gamma, value_coef,
                  beta):
    returns, running = [], bootstrap
    for r, t in zip(rewards[::-1], terminals[::-1]):
        running = r + gamma * running * (1.0 - t)
        returns.append(running)
    returns = np.array(returns[::-1])
    log_probs = logits - logits.max(1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(1, keepdims=True))
    advantages = returns - values
    policy = -sum(log_probs[i, a] * advantages[i] for i, a in enumerate(actions))
    value = float((advantages ** 2).sum())
    entropy = float(-(np.exp(log_probs) * log_probs).sum())
    return policy + value_coef * value - beta * entropy


@pytest.mark.parametrize("length, terminal_last", [(3, False), (3, True), (5, False), (1, True)])
def test_update_unrolls_the_segment_from_its_start_state_as_done_by_hand(length, terminal_last):
    """`length` transitions of a tmax-5 segment from a random (h0, c0): the loss the update
    reports equals the LSTM stepped by hand through those frames, bootstrapped from V of the
    state the segment ends at, or from 0 at a terminal; a full segment and a one-step one
    included (the end state sits at row `length` of the unroll)."""
    agent = make_agent("a3c_lstm", tmax=5, gamma=0.9)
    rng = np.random.default_rng(3 + length)
    seg = random_segment(rng, length, terminal_last=terminal_last, with_next=False)
    next_state = rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)
    h0 = rng.normal(0, 0.5, agent.cells).astype(np.float32)
    c0 = rng.normal(0, 0.5, agent.cells).astype(np.float32)
    frames = np.stack(seg.states + [next_state])
    features = np.asarray(agent.online.get_layer("torso")(frames))
    logits, values, _, _ = _lstm_by_hand(agent.online, features, h0, c0)
    bootstrap = 0.0 if terminal_last else values[length]
    expected = _loss_by_hand(logits[:length], values[:length], seg.actions, seg.rewards,
                             seg.terminals,
                             bootstrap, 0.9, agent.config.value_loss_coef,
                             agent.config.entropy_beta)
    stats = agent.update(*agent.update_args(seg, next_state, (h0, c0)), np.float32(0.0))
    np.testing.assert_allclose(float(stats[0]), expected, rtol=2e-4, atol=2e-4)
    # From zeros instead (a segment that starts an episode) the loss differs.
    zero = agent.update(*agent.update_args(seg, next_state), np.float32(0.0))
    assert abs(float(zero[0]) - expected) > 1e-3


def test_a_batched_acting_call_keeps_each_threads_state_to_itself():
    """Three threads' (frames, h, c) in one batched call (padded to 4 rows) give each exactly
    what it gets alone, and the returned (h', c') are the LSTM stepped by hand."""
    agent = make_agent("a3c_lstm")
    rng = np.random.default_rng(0)
    requests = [(rng.integers(0, 256, (84, 84, 4), dtype=np.uint8),
                 rng.normal(0, 0.5, agent.cells).astype(np.float32),
                 rng.normal(0, 0.5, agent.cells).astype(np.float32)) for _ in range(3)]
    together = dispatch.act_batch(agent, requests, [None] * 3)
    for (frames, h, c), (outputs, _) in zip(requests, together):
        alone = dispatch.act_batch(agent, [(frames, h, c)], [None])[0][0]
        for a, b in zip(outputs, alone):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        features = np.asarray(agent.online.get_layer("torso")(frames[None]))
        logits, values, h2, c2 = _lstm_by_hand(agent.online, features, h, c)
        probs = np.exp(logits[0] - logits[0].max())
        np.testing.assert_allclose(outputs[0], probs / probs.sum(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(outputs[1], values[0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(outputs[2], h2, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(outputs[3], c2, rtol=1e-4, atol=1e-5)


def test_a_player_carries_its_state_resets_it_at_an_episode_start_and_records_segment_starts():
    agent = make_agent("a3c_lstm", tmax=3)
    player = agent.player(0, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (84, 84, 4), dtype=np.uint8) for _ in range(6)]
    sent = []

    def step(i, terminal=False):
        request = player.acting_input(frames[i])
        sent.append((request[1].copy(), request[2].copy()))
        (outputs, _), = dispatch.act_batch(agent, [request], [None])
        action = player.act(outputs, i)
        player.observe(frames[i], action, 0.0, terminal)
        return outputs

    first = step(0)
    assert not sent[0][0].any() and not sent[0][1].any()  # a thread starts from zeros
    step(1)
    np.testing.assert_array_equal(sent[1][0], first[2])  # carried to the next call
    np.testing.assert_array_equal(sent[1][1], first[3])
    step(2, terminal=True)  # the segment ends at a terminal: the next frame starts an episode
    update = player.take_update(frames[3])
    assert update is not None
    h0, c0 = update[-2], update[-1]  # the segment started from the first call's input (zeros)
    assert not h0.any() and not c0.any()
    step(3)
    assert not sent[3][0].any() and not sent[3][1].any()  # reset after the terminal
    step(4)
    step(5)
    update = player.take_update(frames[0])  # 3 transitions: tmax reached
    np.testing.assert_array_equal(update[-2], sent[3][0])


def test_a_test_policy_forgets_its_state_at_each_games_start():
    agent = make_agent("a3c_lstm")
    policy = agent.test_policy(0.0)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)
    policy(frame, rng, 3)
    assert policy.h.any()
    policy.reset()
    assert not policy.h.any() and not policy.c.any()


def test_segment_players_of_other_agents_send_only_the_frames():
    player = make_agent("a3c").player(0, np.random.default_rng(0))
    frame = np.zeros((84, 84, 4), np.uint8)
    assert player.acting_input(frame) is frame
    assert isinstance(make_agent("a3c_lstm").player(0, np.random.default_rng(0)),
                      a3c_lstm.Player)


@pytest.mark.slow
def test_the_recurrent_agent_learns_the_cue_game_and_the_feed_forward_one_cannot(tmp_path):
    """The shipped Cue game shows its cue only on a round's first frame and asks for it three
    frames later. With --memory_len 1 (one frame per observation) a3c_lstm, which remembers,
    learns it in 6,000 steps (every seed of docs/results.md "The Cue game"); a3c, trained the
    same way in the same test, stays at chance (0 per game at best); a random policy scores
    about -1/3."""
    from async_deeprl import environment, evaluation, training
    from async_deeprl.config import TrainConfig

    cue = "async_deeprl.games:Cue-v0"
    env = environment.make_env(cue, action_repeat=1, memory_len=1, seed=7)
    random_mean = evaluation.summarize(evaluation.play_games(
        env, policies.random_policy, 300, np.random.default_rng(0), 100))["mean"]
    assert random_mean < 0
    means = {}
    for algorithm in ("a3c_lstm", "a3c"):
        logdir = str(tmp_path / algorithm)
        # Uncompiled (--noxla): what is tested is the network's memory, and the compiled calls
        # compute the same numbers (test_xla.py); it saves the LSTM's 6-8 CPU-seconds of XLA
        # compilation. The Catch learning tests run compiled.
        training.train(TrainConfig(algorithm=algorithm, game=cue, memory_len=1, action_repeat=1,
                                 threads=2, gamma=0.9, lr=1e-3, total_frames=6_000,
                                 log_interval=2_000, test_interval=0, seed=1, logdir=logdir,
                                 xla=False))
        greedy = evaluation.evaluate_logdir(logdir, None, 60, 0.0, 100, seed=7, video=False,
                                            mode="greedy")
        means[algorithm] = greedy["mean"]
    print(f"Cue, greedy means over 60 games: {means}, random {random_mean:.2f}")
    assert means["a3c_lstm"] >= 0.9 and means["a3c_lstm"] >= random_mean + 1.0, means
    assert means["a3c"] <= 0.45, means  # chance at best: 60 coin flips stay under 0.45 w.p. 99.9%
