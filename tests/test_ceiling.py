import pytest

from async_deeprl import environment
from async_deeprl.commands.env_timing import ceiling_steps_per_s, mean_frames_per_step


def test_ceiling_adds_per_step_times():
    # env 2,000 steps/s (0.5 ms) + acting 0.2 ms + learning 0.4 ms = 1.1 ms per step.
    assert ceiling_steps_per_s(2000.0, 0.0002, 0.0004) == pytest.approx(1000.0 / 1.1)
    # Free TensorFlow leaves the env's own rate.
    assert ceiling_steps_per_s(2383.0, 0.0, 0.0) == pytest.approx(2383.0)


@pytest.mark.parametrize("action_repeat", [4, 12])
def test_mean_frames_per_step_counts_the_repeat(action_repeat):
    # 40 random steps of SpaceInvaders end no game (a game lasts thousands of frames),
    # so every step is exactly `action_repeat` emulator frames.
    env = environment.make_env("SpaceInvaders-v0", seed=0, action_repeat=action_repeat)
    try:
        assert mean_frames_per_step(env, steps=40) == action_repeat
    finally:
        env.close()
