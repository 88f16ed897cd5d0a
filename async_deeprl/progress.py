"""A live progress bar between the log lines when the output is a terminal; plain lines otherwise.

`bar` shows the global step, a bar, agent steps/s over the last minute and the
time left, redrawn twice a second. Lines printed while it is shown (the log,
test and signal lines) appear above it. When stdout is a file or a pipe (CI,
`nohup ... > log`) it draws nothing, so logs hold only the plain lines.
"""

import contextlib
import sys


class _NoBar:
    def update(self, step):
        pass


class _Bar:
    def __init__(self, progress, task):
        self._progress, self._task = progress, task

    def update(self, step):
        """Moves the bar to global agent step `step`."""
        self._progress.update(self._task, completed=step)


@contextlib.contextmanager
def bar(total, start, enabled=None, console=None):
    """Yields an object whose `update(step)` moves the bar to global agent step `step`.

    `enabled` defaults to whether stdout is a terminal; `console` is a
    `rich.console.Console` to draw on (default: stdout).
    """
    if enabled is None:
        enabled = sys.stdout.isatty()
    if not enabled:
        yield _NoBar()
        return
    from rich import progress as rp
    from rich.console import Console
    from rich.text import Text

    if console is None:
        console = Console(soft_wrap=True)  # Log lines keep their own line breaks.

    class Speed(rp.ProgressColumn):
        def render(self, task):
            return Text("-- steps/s" if task.speed is None else f"{task.speed:,.0f} steps/s")

    columns = (rp.TextColumn("T={task.completed:,.0f}/{task.total:,.0f}"), rp.BarColumn(),
               Speed(), rp.TextColumn("eta"), rp.TimeRemainingColumn())
    # stderr is left alone: a user's `2> file` keeps getting warnings and tracebacks.
    with rp.Progress(*columns, console=console, refresh_per_second=2, redirect_stderr=False,
                     speed_estimate_period=60.0) as progress:
        yield _Bar(progress, progress.add_task("training", total=total, completed=start))
