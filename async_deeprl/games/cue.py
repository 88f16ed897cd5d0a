"""Cue: a game that needs memory. A cue (the left or the right half of the screen lit) is shown
only on a round's first frame; then `delay` blank frames; then a decision frame (a bar across the
bottom), where action 1 (left) or 2 (right) must name the cue's side: +1 if it does, -1 if not
(action 0 also scores -1). A game is `rounds` rounds of `delay + 2` steps; actions before the
decision do nothing. An agent that sees only the current frame (`--memory_len 1`) cannot tell
the sides apart at the decision, so it scores 0 on average at best (a random policy about -1/3
per round); one that remembers scores +1 per round. 84x84 RGB pixels, as Catch.
"""

import gymnasium as gym
import numpy as np

SIZE = 84
_CUE_COLOR = (255, 255, 0)
_BAR_COLOR = (0, 200, 255)


class CueEnv(gym.Env):
    """The Cue game as a gymnasium environment with RGB pixel observations."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, rounds=1, delay=2, render_mode=None):
        self.rounds, self.delay, self.render_mode = rounds, delay, render_mode
        self.observation_space = gym.spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(3)
        self._side = self._step = self._round = 0

    def _frame(self):
        frame = np.zeros((SIZE, SIZE, 3), np.uint8)
        if self._step == 0:  # the cue: one half lit
            columns = slice(0, SIZE // 2) if self._side == 0 else slice(SIZE // 2, SIZE)
            frame[12:SIZE - 24, columns] = _CUE_COLOR
        elif self._step == self.delay + 1:  # the decision
            frame[SIZE - 12:, :] = _BAR_COLOR
        return frame

    def _new_round(self):
        self._side = int(self.np_random.integers(2))
        self._step = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._round = 0
        self._new_round()
        return self._frame(), {}

    def step(self, action):
        reward, terminated = 0.0, False
        if self._step == self.delay + 1:
            reward = 1.0 if int(action) == self._side + 1 else -1.0
            self._round += 1
            terminated = self._round >= self.rounds
            self._new_round()
        else:
            self._step += 1
        return self._frame(), reward, terminated, False, {}

    def render(self):
        return self._frame()
