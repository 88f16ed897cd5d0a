"""The Trainer's own bookkeeping, on a stand-in backend that plays no game: a log row is written
only after the checkpoint that covers it, test rows likewise, a stop event ends the run with a
last checkpoint, and a lost process stops it without one and with the backend's explanation.
The real backends' runs are in test_runner.py, test_crash_resume.py and test_distributed.py."""

import csv
import os
import threading
import time

import pytest

from async_deeprl import faults, metrics, runner
from async_deeprl.backend import Backend
from async_deeprl.config import TrainConfig
from async_deeprl.counter import StepCounter

CATCH = "async_deeprl.games:Catch-v0"


class StandInAgent:
    """Stands for an agent: the log columns and console text the Trainer asks for, and a test
    policy that always plays action 0."""
    log_columns = ("value_mean",)
    update_stats = ("loss",)

    def log_values(self, step):
        return {}

    def console(self, row):
        return "stand-in"

    def test_policy(self, epsilon):
        return lambda state, rng, num_actions: 0


class StandInBackend(Backend):
    """Stands for a backend: each of its two loops claims global steps as fast as it can (no
    game, no network); `save_checkpoint` records the step it covers in `events`, as the log
    writers do (patched in `_record_rows`); `lose_at`: a loop raises ProcessLost there."""

    def __init__(self, config, stop, lose_at=None):
        self.config, self._stop, self.lose_at = config, stop, lose_at
        self.total_threads = 2
        self.agent, self.events, self.closed = StandInAgent(), [], None
        self.stats = metrics.IntervalStats()

    def start(self, first_env, resume):
        self._env, self.counter = first_env, StepCounter(0)
        return 0, ["stand-in start line"]

    def describe(self):
        return "2 stand-in loops"

    def loops(self):
        return [self._loop, self._loop]

    def _loop(self):
        while not self._stop.is_set():
            step = self.counter.claim(self.config.total_frames)
            if step is None:
                return
            time.sleep(0.0005)  # ~1.5 s a run: several log intervals of the main thread
            if step % 50 == 0:
                self.stats.add_episode(1.0, 50)
            if step == self.lose_at:
                raise faults.ProcessLost("the stand-in process died")

    def open(self):
        self.events.append(("open",))

    def shut(self):
        self.events.append(("shut",))

    def before_test(self):
        pass

    def save_checkpoint(self):
        step = self.counter.value
        self.events.append(("checkpoint", step))
        return f"ckpt-{step}", step, 4 * step

    def drain_stats(self, names):
        return self.stats.drain(names)

    def emulator_frames(self):
        return 4 * self.counter.value

    def timing(self):
        return self.counter.value, None

    def close(self, failure):
        self._env.close()
        self.closed = failure
        return None

    def summary(self):
        return dict(stand_in=True)

    def explain(self, error):
        return faults.ProcessLost(f"{error}: explained")


def _trainer(tmp_path, stop=None, **backend_args):
    config = TrainConfig(game=CATCH, logdir=str(tmp_path / "run"), threads=2, action_repeat=1,
                         total_frames=3_000, log_interval=500, test_interval=1_000,
                         test_games=1, test_max_steps=20, seed=0)
    trainer = runner.Trainer(config, stop, show_progress=False,
                             make_backend=lambda c, s: StandInBackend(c, s, **backend_args))
    _record_rows(trainer)
    return trainer


def _record_rows(trainer):
    """Adds each train and test row the Trainer writes to the backend's `events`."""
    events = trainer.backend.events
    for name, log in (("train", trainer.train_log), ("test", trainer.test_log)):
        def write(step, row, _write=log.write, _name=name):
            events.append((_name, step))
            return _write(step, row)
        log.write = write


def _steps(logdir, name):
    with open(os.path.join(logdir, f"{name}.csv")) as f:
        return [int(row["agent_steps"]) for row in csv.DictReader(f)]


def test_every_row_is_written_after_the_checkpoint_that_covers_it(tmp_path):
    trainer = _trainer(tmp_path)
    summary = trainer.run()
    assert summary["step"] == 3_000 and summary["stand_in"] is True
    events = trainer.backend.events
    assert events[0] == ("open",) and ("shut",) in events
    saved = -1
    for event in events:
        if event[0] == "checkpoint":
            saved = event[1]
        elif event[0] in ("train", "test"):
            assert event[1] <= saved, events  # never a row beyond the last checkpoint
    train = _steps(trainer.config.logdir, "train")
    assert train == sorted(train) and train[-1] == 3_000 and len(train) >= 2
    assert _steps(trainer.config.logdir, "test") == sorted(_steps(trainer.config.logdir, "test"))
    assert trainer.backend.closed is None


def test_a_stop_event_ends_the_run_with_a_last_checkpoint(tmp_path):
    stop = threading.Event()
    trainer = _trainer(tmp_path, stop)
    threading.Timer(0.3, stop.set).start()  # as SIGTERM does
    summary = trainer.run()
    assert 0 < summary["step"] < 3_000
    events = trainer.backend.events
    assert ("checkpoint", summary["step"]) in events[events.index(("shut",)):]


def test_a_lost_process_stops_the_run_without_a_last_checkpoint(tmp_path):
    trainer = _trainer(tmp_path, lose_at=1_234)
    with pytest.raises(faults.ProcessLost, match="the stand-in process died: explained"):
        trainer.run()
    events = trainer.backend.events
    after_threads = events[events.index(("shut",)):]
    assert not [e for e in after_threads if e[0] == "checkpoint"], events  # no last checkpoint
    assert isinstance(trainer.backend.closed, faults.ProcessLost)
