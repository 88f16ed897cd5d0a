import pytest

from async_deeprl.env_timing import ceiling_steps_per_s


def test_ceiling_adds_per_step_times():
    # env 2,000 steps/s (0.5 ms) + acting 0.2 ms + learning 0.4 ms = 1.1 ms per step.
    assert ceiling_steps_per_s(2000.0, 0.0002, 0.0004) == pytest.approx(1000.0 / 1.1)
    # Free TensorFlow leaves the env's own rate.
    assert ceiling_steps_per_s(2383.0, 0.0, 0.0) == pytest.approx(2383.0)
