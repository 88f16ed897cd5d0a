import numpy as np
import pytest

from async_deeprl import schedules


def test_linear_schedule_exact_values():
    assert schedules.linear_schedule(1.0, 0.1, 100, 0) == 1.0
    assert schedules.linear_schedule(1.0, 0.1, 100, 50) == pytest.approx(0.55)
    assert schedules.linear_schedule(1.0, 0.1, 100, 100) == pytest.approx(0.1)
    assert schedules.linear_schedule(1.0, 0.1, 100, 10_000) == pytest.approx(0.1)
    assert schedules.linear_schedule(1.0, 0.1, 100, -5) == 1.0
    assert schedules.linear_schedule(1.0, 0.1, 0, 0) == 0.1


def test_epsilon_anneals_over_eps_steps_to_thread_minimum():
    assert schedules.epsilon_at(0, 1.0, 0.01, 4_000_000) == 1.0
    assert schedules.epsilon_at(2_000_000, 1.0, 0.01, 4_000_000) == pytest.approx(0.505)
    assert schedules.epsilon_at(4_000_000, 1.0, 0.5, 4_000_000) == pytest.approx(0.5)
    assert schedules.epsilon_at(9_000_000, 1.0, 0.1, 4_000_000) == pytest.approx(0.1)


def test_exponential_epsilon_is_the_seeds_formula():
    assert schedules.exponential_epsilon(0, 1.0, 0.01, 30_000) == 1.0
    assert schedules.exponential_epsilon(30_000, 1.0, 0.01, 30_000) == pytest.approx(
        0.01 + 0.99 / np.e)
    assert schedules.exponential_epsilon(300_000, 1.0, 0.01, 30_000) == pytest.approx(
        0.01 + 0.99 * np.exp(-10))
    assert schedules.exponential_epsilon(5, 1.0, 0.02, 0) == 0.02


def test_learning_rate_anneals_to_zero_at_total_steps():
    assert schedules.learning_rate_at(0, 7e-4, 1000) == pytest.approx(7e-4)
    assert schedules.learning_rate_at(250, 7e-4, 1000) == pytest.approx(5.25e-4)
    assert schedules.learning_rate_at(1000, 7e-4, 1000) == 0.0
    assert schedules.learning_rate_at(250, 1e-4, 1000, anneal=False) == pytest.approx(1e-4)


def test_eps_min_draws_follow_paper_distribution():
    draws = np.array(schedules.sample_eps_mins(100_000, np.random.default_rng(0)))
    assert set(np.unique(draws)) == {0.1, 0.01, 0.5}
    assert np.mean(draws == 0.1) == pytest.approx(0.4, abs=0.01)
    assert np.mean(draws == 0.01) == pytest.approx(0.3, abs=0.01)
    assert np.mean(draws == 0.5) == pytest.approx(0.3, abs=0.01)


def test_eps_min_draws_are_reproducible_with_a_seed():
    a = schedules.sample_eps_mins(8, np.random.default_rng(42))
    b = schedules.sample_eps_mins(8, np.random.default_rng(42))
    assert a == b and len(a) == 8
