"""Evaluation games end even when the policy never starts the game."""

import numpy as np

from async_deeprl import evaluation
from async_deeprl.environment import make_env
from async_deeprl.agents import policies


def test_a_policy_that_never_starts_the_game_is_cut_at_max_steps():
    env = make_env("ALE/Breakout-v5", action_set="minimal", seed=0)
    assert env.action_names[0] == "NOOP"
    always_noop = lambda states: np.array([[1.0, 0.0, 0.0, 0.0]])  # Breakout waits for FIRE.
    policy = policies.epsilon_greedy(always_noop, 0.0)
    results = evaluation.play_games(env, policy, 2, np.random.default_rng(0), max_steps=300)
    assert [r["steps"] for r in results] == [300, 300]
    assert all(r["truncated"] for r in results) and all(r["score"] == 0 for r in results)


def test_epsilon_greedy_policy_follows_epsilon():
    q_fn = lambda states: np.array([[0.0, 3.0, 1.0]])
    rng = np.random.default_rng(0)
    greedy = policies.epsilon_greedy(q_fn, 0.0)
    assert {greedy(np.zeros(2), rng, 3) for _ in range(50)} == {1}
    random = [policies.epsilon_greedy(q_fn, 1.0)(np.zeros(2), rng, 3) for _ in range(3000)]
    assert abs(np.mean(np.array(random) == 1) - 1 / 3) < 0.03


def test_summarize_on_hand_made_scores():
    results = [dict(score=s, steps=10, truncated=False) for s in (10.0, 20.0, 60.0)]
    assert evaluation.summarize(results) == dict(games=3, mean=30.0, std=np.std([10, 20, 60]),
                                                 min=10.0, max=60.0)


def test_realtime_fps_from_emulator_frame_counters():
    assert evaluation.realtime_fps([100, 104, 108, 112]) == 15.0  # 4 frames per agent step.
    assert evaluation.realtime_fps([0, 10, 26]) == 60.0 / 13  # Random frameskip: the mean counts.
    assert evaluation.realtime_fps([0, 12, 24], frames_per_second=30.0) == 2.5
    assert evaluation.realtime_fps([7]) is None
    assert evaluation.realtime_fps([7, 7]) is None


def test_gif_delays_track_real_time_in_whole_centiseconds():
    assert evaluation.gif_delays_ms(6, 15) == [70, 60, 70, 70, 60, 70]  # Ends at 70, 130, 200, 270, 330, 400.
    assert sum(evaluation.gif_delays_ms(300, 15)) == 20_000
    assert evaluation.gif_delays_ms(3, 5) == [200, 200, 200]
    assert evaluation.gif_delays_ms(0, 15) == []


def test_mp4_round_trip_pads_odd_sides_and_keeps_rate_and_frames(tmp_path):
    import imageio.v2 as imageio

    frames = [np.full((85, 161, 3), 40 * i, np.uint8) for i in range(6)]
    path = str(tmp_path / "v.mp4")
    evaluation.write_mp4(frames, path, fps=12.5)
    reader = imageio.get_reader(path)
    meta = reader.get_meta_data()
    back = [np.asarray(f) for f in reader]  # list() would trust its infinite length hint
    reader.close()
    assert meta["codec"] == "h264" and meta["fps"] == 12.5
    assert meta["size"] == (162, 86)  # one black column and row added: H.264 needs even sides
    assert len(back) == 6
    # Flat grey frames survive the lossy codec within a few levels.
    assert [round(float(f[:85, :161].mean()) / 40) for f in back] == list(range(6))


def test_games_cut_by_the_emulators_frame_limit_are_marked_truncated():
    """ALE's own frame limit (108,000 frames; here 400 for a registered copy of Breakout) ends a
    game as a game over; eval.json must still say the game was cut, not finished."""
    import gymnasium as gym

    if "TestShortBreakout-v5" not in gym.registry:
        spec = gym.spec("ALE/Breakout-v5")
        gym.register(id="TestShortBreakout-v5", entry_point=spec.entry_point,
                     kwargs={**spec.kwargs, "max_num_frames_per_episode": 400})
    env = make_env("TestShortBreakout-v5", action_set="minimal", sticky_prob=0.0, noop_max=0,
                   seed=0)
    always_noop = lambda states: np.array([[1.0, 0.0, 0.0, 0.0]])  # never serves: no game end
    policy = policies.epsilon_greedy(always_noop, 0.0)
    results = evaluation.play_games(env, policy, 2, np.random.default_rng(0), max_steps=10_000)
    assert [r["steps"] for r in results] == [100, 100]  # 400 frames at 4 per agent step
    assert all(r["truncated"] for r in results)
    finished = make_env("ALE/Breakout-v5", action_set="minimal", sticky_prob=0.0, seed=0)
    random = evaluation.play_games(finished, policies.random_policy, 1,
                                   np.random.default_rng(0), max_steps=10_000)
    assert random[0]["steps"] < 10_000 and not random[0]["truncated"]  # lost its 5 lives


def test_games_cut_by_a_gymnasium_time_limit_are_marked_truncated():
    """The Python env path: a TimeLimit (here 3 steps on Catch, whose games last longer) ends
    the game as a game over, marked truncated; Catch's own end is not."""
    import gymnasium as gym

    import async_deeprl.games  # noqa: F401  registers Catch-v0

    if "TestShortCatch-v0" not in gym.registry:
        gym.register(id="TestShortCatch-v0", entry_point=gym.spec("Catch-v0").entry_point,
                     max_episode_steps=3)
    short = make_env("TestShortCatch-v0", action_repeat=1, seed=0)
    results = evaluation.play_games(short, policies.random_policy, 2,
                                    np.random.default_rng(0), max_steps=100)
    assert [r["steps"] for r in results] == [3, 3] and all(r["truncated"] for r in results)
    full = make_env("async_deeprl.games:Catch-v0", action_repeat=1, seed=0)
    results = evaluation.play_games(full, policies.random_policy, 2, np.random.default_rng(0),
                                    max_steps=100)
    assert all(3 < r["steps"] < 100 and not r["truncated"] for r in results)
