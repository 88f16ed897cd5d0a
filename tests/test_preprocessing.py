import numpy as np

from async_deeprl import preprocessing


def test_crop_rows_per_game():
    assert preprocessing.crop_rows_for("space_invaders") == (None, -15)
    assert preprocessing.crop_rows_for("pong") == (36, -15)
    assert preprocessing.crop_rows_for(None) == (None, None)


def test_crop_and_resize_keeps_only_the_cropped_rows():
    frame = np.zeros((210, 160), np.uint8)
    frame[-15:] = 255  # Only the rows SpaceInvaders drops are bright.
    out = preprocessing.crop_and_resize(frame, preprocessing.crop_rows_for("space_invaders"))
    assert out.shape == (84, 84) and out.dtype == np.uint8
    assert out.max() == 0
    frame[:36] = 255
    frame[-15:] = 0
    assert preprocessing.crop_and_resize(frame, (36, -15)).max() == 0
    assert preprocessing.crop_and_resize(frame, (None, None)).max() > 0


def test_to_gray_uses_luminance():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[0, 1] = (0, 255, 0)
    rgb[1, 0] = (0, 0, 255)
    rgb[1, 1] = (255, 255, 255)
    gray = preprocessing.to_gray(rgb)
    assert gray.tolist() == [[76, 150], [29, 255]]


def test_frame_stack_puts_newest_frame_last():
    stack = preprocessing.FrameStack(4, size=2)
    first = stack.reset(np.full((2, 2), 1, np.uint8))
    assert first.shape == (2, 2, 4) and first.dtype == np.uint8
    assert first[0, 0].tolist() == [1, 1, 1, 1]
    for value in (2, 3):
        out = stack.push(np.full((2, 2), value, np.uint8))
    assert out[0, 0].tolist() == [1, 1, 2, 3]
    out[...] = 0  # Returned arrays are copies: the stack is unaffected.
    assert stack.push(np.full((2, 2), 4, np.uint8))[1, 1].tolist() == [1, 2, 3, 4]
