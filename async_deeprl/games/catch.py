"""Catch: a block falls down a 7x7 grid and a paddle on the bottom row must be under it.

Rendered as 84x84 RGB pixels (12 px cells), so the trainer sees it through the
same pixel pipeline as an Atari game. Actions: 0 stay, 1 left, 2 right. Each
step the paddle moves, then the block falls one row; when the block reaches the
bottom row the step's reward is +1 if the paddle is under it, else -1, and a new
block appears in a random column of the top row. A game is `blocks_per_game`
blocks (6 steps each). A random policy scores about -6 per game, a perfect one +10.
"""

import gymnasium as gym
import numpy as np

GRID = 7
CELL = 12
_BLOCK_COLOR = (255, 255, 0)
_PADDLE_COLOR = (0, 200, 255)


class CatchEnv(gym.Env):
    """The Catch game as a gymnasium environment with RGB pixel observations."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, blocks_per_game=10, render_mode=None):
        self.blocks_per_game = blocks_per_game
        self.render_mode = render_mode
        size = GRID * CELL
        self.observation_space = gym.spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(3)
        self._block_row = self._block_col = self._paddle = self._blocks_done = 0

    def _new_block(self):
        self._block_row = 0
        self._block_col = int(self.np_random.integers(GRID))

    def _render_frame(self):
        frame = np.zeros(self.observation_space.shape, np.uint8)
        r, c = self._block_row, self._block_col
        frame[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] = _BLOCK_COLOR
        p = self._paddle
        frame[(GRID - 1) * CELL + CELL // 2:, p * CELL:(p + 1) * CELL] = _PADDLE_COLOR
        return frame

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._paddle = GRID // 2
        self._blocks_done = 0
        self._new_block()
        return self._render_frame(), {}

    def step(self, action):
        move = (0, -1, 1)[int(action)]
        self._paddle = min(max(self._paddle + move, 0), GRID - 1)
        self._block_row += 1
        reward = 0.0
        if self._block_row == GRID - 1:
            reward = 1.0 if self._block_col == self._paddle else -1.0
            self._blocks_done += 1
            frame = self._render_frame()
            self._new_block()
        else:
            frame = self._render_frame()
        terminated = self._blocks_done >= self.blocks_per_game
        return frame, reward, terminated, False, {}

    def render(self):
        return self._render_frame()
