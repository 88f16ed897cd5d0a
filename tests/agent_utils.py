"""Helpers for tests that drive agents directly: build one, hand-made segments, a few updates."""

import numpy as np

from async_deeprl import agents
from async_deeprl.agents.base import Segment
from async_deeprl.config import TrainConfig


def make_agent(algorithm="one_step_q", num_actions=3, xla=False, **settings):
    """A real agent of `algorithm` on its config's inputs (84x84x4 unless --obs_size or
    --memory_len are given), configured like a run of it; its functions run uncompiled unless
    `xla` (a run compiles them with XLA, which test_xla.py shows computes the same numbers)."""
    config = TrainConfig(algorithm=algorithm, **settings)
    return agents.get(algorithm)(num_actions, config.input_shape(), config, xla=xla)


def random_segment(rng, n, num_actions=3, terminal_last=False, with_next=True,
                   shape=(84, 84, 4)):
    """A segment of `n` random transitions; with_next fills the bootstrap rows and actions."""
    seg = Segment()
    for i in range(n):
        seg.add(rng.integers(0, 256, shape, dtype=np.uint8), int(rng.integers(num_actions)),
                float(rng.uniform(-1, 1)), terminal_last and i == n - 1)
        if with_next:
            seg.next_q[-1] = rng.normal(size=num_actions).astype(np.float32)
            seg.next_actions[-1] = int(rng.integers(num_actions))
    return seg


def train_a_little(agent, seed, steps=3, lr=1e-3):
    """A few updates on random segments of `agent.config.tmax` transitions; returns the losses."""
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        seg = random_segment(rng, agent.config.tmax, agent.num_actions)
        next_state = rng.integers(0, 256, (84, 84, 4), dtype=np.uint8)
        losses.append(float(agent.update(*agent.update_args(seg, next_state), np.float32(lr))[0]))
    return losses
