"""Training statistics gathered from learner threads and written to TensorBoard and CSV."""

import contextlib
import csv
import os
import threading

import numpy as np
import tensorflow as tf

from async_deeprl import faults


class IntervalStats:
    """Thread-safe sums over one logging interval, drained by the logging thread.

    Besides finished games, it averages any named quantity: acting statistics a
    worker reports as (sum, count) and the numbers each update returns; an
    update whose numbers are not all finite is counted in `nonfinite_losses`.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._reset()

    def _reset(self):
        self._scores, self._lengths = [], []
        self._sums = {}  # name -> [sum, count]
        self._nonfinite = 0

    def add_episode(self, score, length):
        """A finished game: its true (unclipped) score and its length in agent steps."""
        with self._lock:
            self._scores.append(float(score))
            self._lengths.append(int(length))

    def _add(self, name, total, count):
        entry = self._sums.setdefault(name, [0.0, 0])
        entry[0] += float(total)
        entry[1] += int(count)

    def add_sums(self, sums):
        """{name: (sum, count)}, e.g. the max-Q of each acting step of a segment."""
        with self._lock:
            for name, (total, count) in sums.items():
                self._add(name, total, count)

    def add_update(self, names, values):
        """The numbers one update returned (named by `names`, the loss first)."""
        with self._lock:
            if np.all(np.isfinite(values)):
                for name, value in zip(names, values):
                    self._add(name, value, 1)
            else:
                self._nonfinite += 1

    def take(self):
        """The raw interval so far, picklable for `merge` in another process; starts anew."""
        with self._lock:
            raw = dict(scores=self._scores, lengths=self._lengths, sums=self._sums,
                       nonfinite=self._nonfinite)
            self._reset()
            return raw

    def merge(self, raw):
        """Adds what another IntervalStats' `take` returned to this interval."""
        with self._lock:
            self._scores += raw["scores"]
            self._lengths += raw["lengths"]
            for name, (total, count) in raw["sums"].items():
                self._add(name, total, count)
            self._nonfinite += raw["nonfinite"]

    def drain(self, names=()):
        """Returns the interval's aggregates (NaN for `names` without data) and starts anew."""
        with self._lock:
            scores, lengths = self._scores, self._lengths
            row = dict(
                episodes=len(scores),
                score_mean=float(np.mean(scores)) if scores else float("nan"),
                score_max=float(np.max(scores)) if scores else float("nan"),
                episode_length_mean=float(np.mean(lengths)) if lengths else float("nan"),
                nonfinite_losses=self._nonfinite,
            )
            row.update({name: float("nan") for name in names})
            row.update({name: total / count for name, (total, count) in self._sums.items()
                        if count})
            self._reset()
            return row


class LogError(ValueError):
    """A log file of the run cannot be read back; the message says which line."""


def _read_rows(path, f):
    """The rows of an open CSV log, refusing (LogError) any whose agent_steps is not an integer."""
    rows = []
    for row in csv.DictReader(f):
        try:
            int(row["agent_steps"])
        except (KeyError, TypeError, ValueError):
            raise LogError(f"{path} line {len(rows) + 2} is damaged ({','.join(str(v) for v in row.values())[:60]!r}); "
                           "delete that line or choose another --logdir") from None
        rows.append(row)
    return rows


def check_log(logdir, name):
    """Raises LogError if `<logdir>/<name>.csv` exists and has a damaged row."""
    path = os.path.join(logdir, f"{name}.csv")
    if os.path.exists(path):
        with open(path, newline="") as f:
            _read_rows(path, f)


class MetricsWriter:
    """Writes each row both as TensorBoard scalars and as one line of `<logdir>/<name>.csv`.

    Rows are keyed by global agent steps. When a run resumes at step T, CSV rows
    past T (written after the checkpoint it resumes from) are dropped, so every
    step appears once.
    """

    def __init__(self, logdir, name, columns, resume_step=0):
        self._columns = ["agent_steps"] + list(columns)
        self._path = os.path.join(logdir, f"{name}.csv")
        self._lock = threading.Lock()
        kept = []
        if os.path.exists(self._path):
            with open(self._path, newline="") as f:
                kept = [r for r in _read_rows(self._path, f) if int(r["agent_steps"]) <= resume_step]
        with self._writing("the kept rows"):
            tmp = self._path + ".tmp"
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, self._columns, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(kept)
            os.replace(tmp, self._path)
            self._file = open(self._path, "a", newline="")
            self._csv = csv.DictWriter(self._file, self._columns, extrasaction="ignore")
            self._summary = tf.summary.create_file_writer(os.path.join(logdir, "tb"))
        self._prefix = name

    @property
    def csv_path(self):
        return self._path

    @contextlib.contextmanager
    def _writing(self, what):
        """Turns a failed write (disk full, folder removed) into a one-line faults.WriteError."""
        try:
            yield
        except (OSError, tf.errors.OpError) as e:
            raise faults.WriteError(
                f"{faults.reason(e)} while writing {what} of {self._path}; free space (or fix "
                "the folder) and rerun the same command to resume from the last complete "
                "checkpoint") from None

    def write(self, step, row):
        """Writes `row` (column -> number or string) at global agent step `step`."""
        with self._lock, self._writing(f"the row at T={int(step)}"):
            self._csv.writerow(dict(row, agent_steps=int(step)))
            self._file.flush()
            with self._summary.as_default(step=int(step)):
                for key, value in row.items():
                    if isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value):
                        tf.summary.scalar(f"{self._prefix}/{key}", float(value))
            self._summary.flush()

    def write_text(self, tag, text):
        """A text summary, e.g. the run's hyperparameters."""
        with self._lock, self._writing(tag), self._summary.as_default(step=0):
            tf.summary.text(tag, text)
            self._summary.flush()

    def close(self):
        with self._lock, self._writing("the last rows"):
            try:
                self._file.close()
            finally:
                self._summary.close()
