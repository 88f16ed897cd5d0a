"""The environment factory on real ALE games and on the shipped Catch game."""

import numpy as np
import pytest

from async_deeprl import evaluation, preprocessing
from async_deeprl.environment import AleVectorEnv, EnvError, GymPixelEnv, make_env
from async_deeprl.agents import policies


@pytest.mark.parametrize("game", ["SpaceInvaders-v0", "PongNoFrameskip-v4", "ALE/Breakout-v5"])
def test_ale_ids_give_the_documented_observation(game):
    env = make_env(game, seed=0)
    assert isinstance(env, AleVectorEnv)
    obs = env.reset()
    assert obs.shape == (84, 84, 4) and obs.dtype == np.uint8
    # After reset every slot of the stack holds the first frame.
    assert all(np.array_equal(obs[..., 0], obs[..., k]) for k in range(4))
    assert env.action_names == ["FIRE", "RIGHT", "LEFT"]
    env.close()


def test_each_agent_step_is_exactly_action_repeat_emulator_frames():
    env = make_env("SpaceInvaders-v0", action_repeat=4, noop_max=0, seed=0)
    env.reset()
    start = env.frame_number
    for i in range(1, 51):
        env.step(i % 3)
        assert env.frame_number - start == 4 * i
    env.close()
    env = make_env("SpaceInvaders-v0", action_repeat=3, noop_max=0, seed=0)
    env.reset()
    env.step(0)
    assert env.frame_number == 3


def test_minimal_action_set_flag():
    env = make_env("SpaceInvaders-v0", action_set="minimal")
    assert env.action_names == ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]
    assert env.num_actions == 6


def test_newest_channel_is_the_cropped_resized_gray_screen():
    env = make_env("SpaceInvaders-v0", noop_max=0, seed=1, record_rgb=True)
    env.reset()
    for _ in range(20):
        result = env.step(0)
    expected = preprocessing.crop_and_resize(preprocessing.to_gray(env.rgb_frame()), (None, -15))
    np.testing.assert_array_equal(result.observation[..., -1], expected)
    # The stack shifts: the previous newest frame is now one slot older.
    previous = result.observation
    result = env.step(1)
    np.testing.assert_array_equal(result.observation[..., :-1], previous[..., 1:])


def test_vector_and_gymnasium_paths_give_identical_observations():
    """Same game, same actions, no sticky actions or no-ops: both backends see the same pixels."""
    fast = make_env("SpaceInvadersNoFrameskip-v4", noop_max=0, seed=3)
    plain = make_env("SpaceInvadersNoFrameskip-v4", noop_max=0, seed=3, id_frameskip=True)
    assert isinstance(fast, AleVectorEnv) and isinstance(plain, GymPixelEnv)
    np.testing.assert_array_equal(fast.reset(), plain.reset())
    rng = np.random.default_rng(0)
    for _ in range(150):
        action = int(rng.integers(3))
        a, b = fast.step(action), plain.step(action)
        np.testing.assert_array_equal(a.observation, b.observation)
        assert a.reward == b.reward and a.life_lost == b.life_lost
    assert fast.frame_number == plain.frame_number == 600
    assert fast.episode_score == plain.episode_score


def test_lost_life_is_reported_while_the_game_goes_on():
    env = make_env("SpaceInvaders-v0", seed=0)
    env.reset()
    lives_lost, steps = 0, 0
    while steps < 5000:
        result = env.step(steps % 3)
        steps += 1
        if result.life_lost:
            lives_lost += 1
            assert not result.game_over
        if result.game_over:
            break
    assert result.game_over and lives_lost == 2  # 3 lives: two losses, then game over.
    assert env.episode_steps == steps and env.episode_score > 0


def test_sticky_probability_defaults_to_the_id_unless_overridden():
    assert make_env("SpaceInvaders-v0").sticky_prob == 0.25
    assert make_env("SpaceInvadersNoFrameskip-v4").sticky_prob == 0.0
    assert make_env("ALE/Pong-v5").sticky_prob == 0.25
    assert make_env("SpaceInvaders-v0", sticky_prob=0.0).sticky_prob == 0.0
    assert make_env("SpaceInvaders-v0", id_frameskip=True, sticky_prob=0.1).sticky_prob == pytest.approx(0.1)


@pytest.mark.parametrize("game, message", [
    ("NoSuchGame-v0", "not a registered gymnasium id"),
    ("CartPole-v1", "RGB pixel space"),
    ("no_such_module:Foo-v0", "cannot import module"),
])
def test_bad_game_ids_raise_one_line_errors(game, message):
    with pytest.raises(EnvError, match=message) as info:
        make_env(game)
    assert "\n" not in str(info.value)


def test_catch_game_through_the_pixel_pipeline():
    env = make_env("async_deeprl.games:Catch-v0", action_repeat=1, seed=0)
    assert isinstance(env, GymPixelEnv) and env.num_actions == 3
    obs = env.reset()
    assert obs.shape == (84, 84, 4) and obs.dtype == np.uint8
    results = evaluation.play_games(env, policies.random_policy, 40, np.random.default_rng(0), 1000)
    scores = [r["score"] for r in results]
    assert all(r["steps"] == 60 for r in results)  # 10 blocks x 6 steps.
    assert -9 < np.mean(scores) < -3  # A random policy misses most blocks.


def test_gym_path_max_pools_the_last_two_frames_of_a_repeat():
    """Catch with a repeat of 2: the block falls two rows per step, the pooled frame shows both."""
    env = make_env("async_deeprl.games:Catch-v0", action_repeat=2, seed=0)
    first = env.reset()[..., -1]
    block_rows = lambda frame: sorted({int(r) for r in np.nonzero(frame[:72] > 100)[0] // 12})
    assert block_rows(first) == [0]
    pooled = env.step(0).observation[..., -1]
    assert block_rows(pooled) == [1, 2]  # rows of the repeat's two frames, not row 0
    single = make_env("async_deeprl.games:Catch-v0", action_repeat=1, seed=0)
    single.reset()
    assert block_rows(single.step(0).observation[..., -1]) == [1]


def test_v0_id_frameskip_plays_8_to_16_frames_per_agent_step():
    """SpaceInvaders-v0 skips a random 2-4 frames per id step; 4 repeats give 8-16."""
    env = make_env("SpaceInvaders-v0", noop_max=0, seed=5, id_frameskip=True)
    env.reset()
    counts = []
    for _ in range(200):
        before = env.frame_number
        env.step(0)
        counts.append(env.frame_number - before)
    assert min(counts) >= 8 and max(counts) <= 16
    assert len(set(counts)) >= 5  # random, not one fixed skip
    assert 11.0 <= np.mean(counts) <= 13.0  # mean 4 * 3
