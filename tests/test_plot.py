import csv
import os
import subprocess
import sys

import numpy as np

from async_deeprl.commands import plot


def test_moving_average_exact_values():
    np.testing.assert_allclose(plot.moving_average([1, 2, 3, 4, 5], 2), [1, 1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(plot.moving_average([4, 2], 10), [4, 3])


def _write(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_plot_reads_test_rows_and_writes_a_png(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _write(run / "test.csv", [dict(agent_steps=80_000 * i, emulator_frames=330_000 * i,
                                   wall_time_s=300 * i, test_score_mean=100 + i)
                              for i in range(1, 6)])
    label, steps, frames, hours, scores = plot.run_curve(str(run))
    assert label == "run (test games, 4.1 emulator frames/step)"  # 1,650,000 / 400,000 = 4.125
    assert steps.tolist() == [80_000, 160_000, 240_000, 320_000, 400_000]
    assert frames.tolist() == [330_000, 660_000, 990_000, 1_320_000, 1_650_000]
    np.testing.assert_allclose(hours, [300 * i / 3600 for i in range(1, 6)])
    assert scores.tolist() == [101, 102, 103, 104, 105]
    out = plot.plot([str(run)], str(tmp_path / "out.png"))
    with open(out, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_falls_back_to_training_rows(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _write(run / "train.csv", [dict(agent_steps=1000, wall_time_s=10, score_mean="nan"),
                               dict(agent_steps=2000, wall_time_s=20, score_mean=7.5)])
    label, steps, frames, _, scores = plot.run_curve(str(run))
    assert label == "run (train games)" and steps.tolist() == [2000] and scores.tolist() == [7.5]
    assert np.isnan(frames).tolist() == [True]  # this log has no emulator_frames column


def test_cumulative_hours_carries_over_resumed_sessions():
    # Two sessions: the second restarts wall_time_s from 0 after 7200 s.
    hours = plot.cumulative_hours([3600, 7200, 1800, 3600])
    np.testing.assert_allclose(hours, [1.0, 2.0, 2.5, 3.0])
    np.testing.assert_allclose(plot.cumulative_hours([]), [])


def test_plot_of_nothing_is_refused_in_one_line_and_writes_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for logdir, message in ((tmp_path / "missing", "is not a directory"),
                            (empty, "holds no test.csv or train.csv rows to plot")):
        result = subprocess.run([sys.executable, "-m", "async_deeprl.plot", str(logdir),
                                 "--out", str(tmp_path / "p.png")],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [f"error: {logdir} {message}" + (
            "; give the logdir of a training run" if "directory" in message else "")]
        assert not os.path.exists(tmp_path / "p.png")
