"""Pure frame preprocessing: crop, grayscale, resize and frame stacking.

These helpers hold no emulator state and are shared by every environment
backend, so both backends give the same observation contract.
"""

import cv2
import numpy as np

OBS_SIZE = 84  # The network sees OBS_SIZE x OBS_SIZE frames.

# Rows kept before resizing, as (first, last) slice bounds; None keeps the edge.
# SpaceInvaders drops its bottom 15 rows; the other ALE games keep rows 36:-15
# (the score bar and the bottom border go), as the 2016 code did.
_SPACE_INVADERS_ROWS = (None, -15)
_ALE_DEFAULT_ROWS = (36, -15)


def crop_rows_for(rom_name):
    """Rows (start, stop) kept for an ALE ROM name such as 'space_invaders'.

    `rom_name` None means a non-ALE environment: the whole frame is kept.
    """
    if rom_name is None:
        return (None, None)
    if rom_name == "space_invaders":
        return _SPACE_INVADERS_ROWS
    return _ALE_DEFAULT_ROWS


def to_gray(frame):
    """HxWx3 RGB uint8 -> HxW uint8 luminance; a 2-D frame is returned as it is."""
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def crop_and_resize(gray, rows, size=OBS_SIZE):
    """Keeps rows[0]:rows[1] of a HxW uint8 frame and resizes it to size x size (INTER_AREA)."""
    cropped = gray[rows[0]:rows[1]]
    return cv2.resize(cropped, (size, size), interpolation=cv2.INTER_AREA)


class FrameStack:
    """The last `length` preprocessed frames as one (size, size, length) uint8 array.

    The newest frame is the last channel. After `reset` every channel holds the
    first frame of the episode.
    """

    def __init__(self, length, size=OBS_SIZE):
        self._frames = np.zeros((size, size, length), np.uint8)

    def reset(self, frame):
        self._frames[...] = frame[..., None]
        return self._frames.copy()

    def push(self, frame):
        self._frames[..., :-1] = self._frames[..., 1:]
        self._frames[..., -1] = frame
        return self._frames.copy()
