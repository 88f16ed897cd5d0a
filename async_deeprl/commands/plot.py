"""Score curves of one or more runs against the published reference points.

    python -m async_deeprl.plot runs/SpaceInvaders-v0 [more logdirs] --out assets/spaceinvaders.png

Reads each logdir's test.csv (greedy test games; the blog's figure used the mean of 3 every
80,000 agent steps) and, only for a run without test rows, train.csv (training games), and
draws the score against global agent steps, against emulator frames and against wall-clock
hours, raw and smoothed. Runs with different frames per agent step compare fairly only on
the frames axis.
"""

import csv
import os
import sys

import numpy as np
from absl import app, flags

from async_deeprl import agents, tf_logs

_OUT = flags.DEFINE_string("out", "assets/scores.png", "PNG to write.")
_SMOOTH = flags.DEFINE_integer("smooth", 10, "Moving-average window, in log rows.")
_XMAX = flags.DEFINE_float("xmax", 0.0, "Right end of the agent-steps axis, in millions (0: show every reference point).")
_REFERENCE = flags.DEFINE_enum("reference", "spaceinvaders", ["spaceinvaders", "pong", "none"],
                               "Which published reference points to draw.")

# (agent steps, score, label) read off the published figures; agent steps = the blog's "frames".
BLOG_SPACEINVADERS = [(3e6, 400), (20e6, 500), (50e6, 600), (80e6, 675)]
# The blog reached its 3M-step point after about 1.5 hours on a GTX 980 Ti.
BLOG_SPACEINVADERS_HOURS = [(1.5, 400)]
# Its agent step was 4 repeats of a SpaceInvaders-v0 step of 2-4 frames: ~12 emulator frames.
BLOG_SPACEINVADERS_FRAMES = [(36e6, 400)]
REFERENCES = {
    "spaceinvaders": dict(
        points=BLOG_SPACEINVADERS, hour_points=BLOG_SPACEINVADERS_HOURS,
        hour_points_label="blog: ~400 at 3M steps after ~1.5 h on a GTX 980 Ti",
        frame_points=BLOG_SPACEINVADERS_FRAMES,
        frame_points_label="blog: ~400 at 3M steps of ~12 frames (v0's 2-4 frameskip x 4 repeats)",
        points_label="blog fig. 5 (8 threads, mean of 3 greedy tests), smoothed",
        band=(650, 750), band_label="A3C paper fig. 1: one-step Q, 16 threads, 14 h (~650-750)"),
    "pong": dict(points=[], points_label="",
                 band=(19, 20),
                 band_label="A3C paper fig. 1: one-step Q, n-step Q and A3C, 16 threads (~19-20)"),
}


class PlotError(ValueError):
    """A logdir with nothing to plot; the message is one line."""


def read_rows(path):
    """The rows of a CSV log as a list of dicts; an absent file gives []."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def moving_average(values, window):
    """Trailing mean over up to `window` values (shorter at the start)."""
    values = np.asarray(values, np.float64)
    out = np.empty_like(values)
    for i in range(len(values)):
        out[i] = values[max(0, i + 1 - window):i + 1].mean()
    return out


def cumulative_hours(wall_time_s):
    """Wall-clock hours summed over resumed sessions.

    Each session's log restarts `wall_time_s` from 0; a drop marks a resume and
    the previous session's last value is carried over. Time between a
    session's last row and its end is not counted, nor is a resume whose
    first row comes later than the previous session's last one (a session
    shorter than one log interval of the next).
    """
    total, offset, previous = [], 0.0, 0.0
    for t in np.asarray(wall_time_s, np.float64):
        if t < previous:
            offset += previous
        total.append(offset + t)
        previous = t
    return np.array(total) / 3600.0


def _run_description(logdir):
    tf_logs.import_quietly()  # checkpointing imports TensorFlow: its start-up lines hidden
    from async_deeprl import checkpointing

    try:
        return checkpointing.read_run_config(logdir)
    except checkpointing.CheckpointError:
        return None


def run_curve(logdir):
    """(label, agent steps, emulator frames, wall-clock hours, scores) of a run.

    Test games if the run has any, else training games. Frames are NaN where
    the log has no `emulator_frames` column.
    """
    rows = read_rows(os.path.join(logdir, "test.csv"))
    kind, key = "test", "test_score_mean"
    if not rows:
        rows = read_rows(os.path.join(logdir, "train.csv"))
        kind, key = "train", "score_mean"
    rows = [r for r in rows if r.get(key) not in (None, "", "nan")]
    steps = np.array([float(r["agent_steps"]) for r in rows])
    frames = np.array([float(r.get("emulator_frames") or "nan") for r in rows])
    hours = cumulative_hours([float(r["wall_time_s"]) for r in rows])
    scores = np.array([float(r[key]) for r in rows])
    label = os.path.basename(os.path.normpath(logdir))
    description = _run_description(logdir)
    if description:  # Algorithm and env id, where the run's description was kept beside its logs.
        label += f": {description.get('algorithm') or agents.DEFAULT}, {description.get('game')}"
    label += f" ({kind} games"
    if rows and rows[-1].get("emulator_frames") not in (None, ""):
        label += f", {float(rows[-1]['emulator_frames']) / steps[-1]:.1f} emulator frames/step"
    return label + ")", steps, frames, hours, scores


def plot(logdirs, out, smooth=10, reference="spaceinvaders", xmax=0.0):
    """Draws score vs agent steps, frames and hours for `logdirs`; writes the PNG `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for logdir in logdirs:  # All checked before anything is drawn or written.
        if not os.path.isdir(logdir):
            raise PlotError(f"{logdir} is not a directory; give the logdir of a training run")
        if not any(read_rows(os.path.join(logdir, name)) for name in ("test.csv", "train.csv")):
            raise PlotError(f"{logdir} holds no test.csv or train.csv rows to plot")
    rows = (len(logdirs) + 4) // 2
    fig, (by_steps, by_frames, by_hours) = plt.subplots(1, 3, figsize=(18, 4.8 + 0.3 * rows))
    for i, logdir in enumerate(logdirs):
        label, steps, frames, hours, scores = run_curve(logdir)
        color = f"C{i}"
        for ax, x in ((by_steps, steps / 1e6), (by_frames, frames / 1e6), (by_hours, hours)):
            ax.plot(x, scores, ".", color=color, alpha=0.35, ms=4)
            ax.plot(x, moving_average(scores, smooth), "-", color=color,
                    label=f"{label}, {smooth}-row mean" if ax is by_steps else None)
    ref = REFERENCES.get(reference)
    if ref:
        if ref["points"]:
            xs, ys = zip(*ref["points"])
            by_steps.plot(np.array(xs) / 1e6, ys, "k*", ms=10, label=ref["points_label"])
        if ref.get("hour_points"):
            xs, ys = zip(*ref["hour_points"])
            by_hours.plot(xs, ys, "k*", ms=10, label=ref["hour_points_label"])
        if ref.get("frame_points"):
            xs, ys = zip(*ref["frame_points"])
            by_frames.plot(np.array(xs) / 1e6, ys, "k*", ms=10, label=ref["frame_points_label"])
        for ax in (by_steps, by_frames, by_hours):
            ax.axhspan(*ref["band"], color="gray", alpha=0.15,
                       label=ref["band_label"] if ax is by_steps else None)
    if xmax > 0:
        by_steps.set_xlim(0, xmax)
    by_steps.set_xlabel("global agent steps (millions)")
    by_frames.set_xlabel("emulator frames (millions)")
    by_hours.set_xlabel("wall-clock hours (summed over resumed sessions)")
    for ax in (by_steps, by_frames, by_hours):
        ax.set_ylabel("game score (true, unclipped)")
        ax.grid(alpha=0.3)
    # One legend under the panels: each run once, then the reference marks of each panel.
    handles, labels = [], []
    for ax, where in ((by_steps, ""), (by_frames, " (middle panel)"), (by_hours, " (right panel)")):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            label = label if label in labels or ax is by_steps else label + where
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    rows = (len(labels) + 1) // 2
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.045 * rows + 0.02, 1, 1))
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv):
    if len(argv) < 2:
        raise app.UsageError("give one or more logdirs")
    try:
        print(plot(argv[1:], _OUT.value, _SMOOTH.value, _REFERENCE.value, _XMAX.value))
    except PlotError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    app.run(main)
