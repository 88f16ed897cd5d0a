"""Pure schedule helpers: linear annealing, epsilon minimum draws, learning rate.

Every step argument here counts global agent steps (one action chosen by one
thread), summed over threads; none of them counts emulator frames.
"""

import math

# The paper's per-thread final exploration rates and their probabilities.
EPS_MIN_VALUES = (0.1, 0.01, 0.5)
EPS_MIN_PROBS = (0.4, 0.3, 0.3)


def linear_schedule(start, end, duration, step):
    """Value that moves linearly from `start` to `end` over `duration` steps.

    Before step 0 the value is `start`; from `duration` on it stays at `end`.
    """
    if duration <= 0:
        return float(end)
    fraction = min(max(step / duration, 0.0), 1.0)
    return float(start + fraction * (end - start))


def epsilon_at(step, eps_start, eps_min, eps_steps):
    """Exploration rate at global step `step` of a thread whose final rate is `eps_min`."""
    return linear_schedule(eps_start, eps_min, eps_steps, step)


def exponential_epsilon(step, eps_start, eps_final, decay):
    """The seeds' DQN schedule: eps_final + (eps_start - eps_final) * exp(-step / decay)."""
    if decay <= 0:
        return float(eps_final)
    return float(eps_final + (eps_start - eps_final) * math.exp(-step / decay))


def learning_rate_at(step, initial_lr, total_steps, anneal=True):
    """Learning rate annealed linearly from `initial_lr` to 0 at `total_steps`."""
    if not anneal:
        return float(initial_lr)
    return linear_schedule(initial_lr, 0.0, total_steps, step)


def sample_eps_mins(num_threads, rng):
    """Draws one final epsilon per thread from {0.1, 0.01, 0.5} with p {0.4, 0.3, 0.3}.

    Args:
      num_threads: how many draws.
      rng: a `numpy.random.Generator`; the same seed gives the same draws.
    Returns:
      A list of `num_threads` floats.
    """
    draws = rng.choice(len(EPS_MIN_VALUES), size=num_threads, p=EPS_MIN_PROBS)
    return [EPS_MIN_VALUES[i] for i in draws]
