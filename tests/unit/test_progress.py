"""neta.progress: a tqdm bar on a terminal; in a log file, whole lines now and then, never a carriage return."""

from __future__ import annotations

import io

from tqdm import tqdm

from neta.progress import INTERVAL_S, ProgressLines, progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_terminal_gets_the_tqdm_bar_and_a_file_gets_lines():
    assert isinstance(progress(range(3), desc="x", file=Terminal()), tqdm)
    assert isinstance(progress(range(3), desc="x", file=io.StringIO()), ProgressLines)
    # disabled is disabled either way: nothing written
    log = io.StringIO()
    assert list(progress(range(3), desc="x", file=log, disable=True)) == [0, 1, 2]
    assert log.getvalue() == ""


def test_a_long_loop_writes_a_line_each_interval_and_one_at_the_end():
    log, clock = io.StringIO(), Clock()
    bar = ProgressLines(range(1000), desc="train cnn", unit="steps", file=log, clock=clock)
    for step in bar:
        clock.now += 0.25  # 1000 steps in 250 s
        if step % 100 == 0:
            bar.set_postfix(loss=f"{1 / (step + 1):.3f}")
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and text.endswith("\n")
    assert len(lines) == int(250 // INTERVAL_S) + 1, lines
    assert lines[0].startswith("train cnn: 120/1000 steps (12%), 30 s, 4.0 steps/s, loss=0.010")
    assert lines[-1].startswith("train cnn: 1000/1000 steps (100%), 250 s, 4.0 steps/s, loss=")


def test_updates_by_hand_without_a_total_and_a_context_manager():
    log, clock = io.StringIO(), Clock()
    with ProgressLines(desc="bokes", unit="boke", file=log, clock=clock) as bar:
        for _ in range(4):
            clock.now += 20
            bar.update(250)
    assert log.getvalue().splitlines() == ["bokes: 500 boke, 40 s, 12.5 boke/s", "bokes: 1000 boke, 80 s, 12.5 boke/s"]


def test_a_short_loop_that_need_not_stay_writes_nothing():
    log, clock = io.StringIO(), Clock()
    for _ in ProgressLines(range(5), desc="read ETL8G", file=log, clock=clock, leave=False):
        clock.now += 1
    assert log.getvalue() == ""
    # ...but one that ran past a line finishes with one
    for _ in ProgressLines(range(5), desc="read ETL8G", file=log, clock=clock, leave=False):
        clock.now += 10
    assert len(log.getvalue().splitlines()) == 2
