"""The live progress bar: drawn on a terminal with log lines kept whole above it, absent otherwise."""

import io
import re
import time

from rich.console import Console

from async_deeprl import progress

LOG_LINE = ("11:04:19 T=1013 frames=1030 score=-7.2 (17 games) avg_max_q=-0.006 eps=1.000 "
            "lr=3.45e-04 steps/s=328 eta=0.0h")


def test_no_bar_when_the_output_is_not_a_terminal(capsys):
    with progress.bar(1000, 0, enabled=False) as shown:
        shown.update(500)
        print(LOG_LINE)
    assert capsys.readouterr().out == LOG_LINE + "\n"


def test_bar_shows_steps_rate_and_eta_and_keeps_printed_lines_whole():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=60, soft_wrap=True,
                      color_system=None)
    with progress.bar(1000, 200, enabled=True, console=console) as shown:
        for step in (300, 400, 500):
            time.sleep(0.2)
            shown.update(step)
        print(LOG_LINE)  # longer than the 60-column screen
        time.sleep(0.6)  # one redraw at 2 per second
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert LOG_LINE in text.replace("\r", "\n").splitlines()
    final = text.replace("\r", "\n").splitlines()[-1]
    # Resumed at 200: the bar starts there; about 300 steps in 0.6 s.
    assert re.match(r"T=500/1,000 .* [0-9,]+ steps/s eta \d:\d\d:\d\d", final), final
