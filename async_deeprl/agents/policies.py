"""How an agent picks actions in test games and `--eval`: epsilon-greedy on Q-values, or drawn
from (or the argmax of) a policy network's probabilities; and the random baseline."""

import numpy as np


def epsilon_greedy(q_fn, epsilon):
    """A policy(state, rng, num_actions) -> action: uniform with probability `epsilon`,
    else the argmax of `q_fn` (which maps a [1, 84, 84, K] uint8 batch to Q-values [1, A])."""

    def policy(state, rng, num_actions):
        if rng.random() < epsilon:
            return int(rng.integers(num_actions))
        return int(np.argmax(np.asarray(q_fn(state[None]))[0]))

    return policy


def sample_action(probs, rng):
    """An action index drawn with probabilities `probs` (a vector summing to ~1, float32 rounding
    allowed) using one uniform draw of `rng`."""
    cumulative = np.cumsum(np.asarray(probs, np.float64))
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(index, len(cumulative) - 1)


def stochastic_policy(probs_fn, epsilon, mode):
    """A policy(state, rng, num_actions) -> action for a policy network: uniform with probability
    `epsilon`, else a draw from `probs_fn`'s action probabilities (`mode` 'sample') or their
    argmax ('greedy'). `probs_fn` maps a [1, 84, 84, K] uint8 batch to probabilities [1, A]."""
    if mode not in ("sample", "greedy"):
        raise ValueError(f"mode {mode!r} is not 'sample' or 'greedy'")

    def policy(state, rng, num_actions):
        if rng.random() < epsilon:
            return int(rng.integers(num_actions))
        probs = np.asarray(probs_fn(state[None]))[0]
        return sample_action(probs, rng) if mode == "sample" else int(np.argmax(probs))

    return policy


def random_policy(state, rng, num_actions):
    """Uniformly random actions: the baseline every learning result is compared with."""
    return int(rng.integers(num_actions))
