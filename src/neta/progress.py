"""Progress of a long loop: a tqdm bar on a terminal, a plain line now and then anywhere else.

A tqdm bar redraws itself with carriage returns several times a second. In a terminal that is one
line that moves; in a log file (a workflow job's stderr) it is one "line" of tens of kilobytes. So
:func:`progress` gives the bar only when its stream is a terminal; otherwise a :class:`ProgressLines`
that writes one ordinary line every :data:`INTERVAL_S` seconds and one when the loop ends, such as

    train cnn: 1200/3600 step (33%), 41 s, 29.3 step/s, loss=0.512, acc=0.842

Both take the same calls: iterate, ``update(n)``, ``set_postfix(...)``, ``close()``, ``with``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

from tqdm import tqdm

INTERVAL_S = 30.0  # seconds between two lines of a loop's progress in a log file


def progress(iterable: Iterable | None = None, *, desc: str, total: int | None = None, unit: str = "it",
             leave: bool = True, disable: bool = False, file: IO[str] | None = None,
             **bar_options: Any) -> tqdm | ProgressLines:
    """A tqdm bar over ``iterable`` (or updated by hand) when ``file`` (default stderr) is a terminal,
    else a :class:`ProgressLines`. ``bar_options`` (``mininterval``, ``dynamic_ncols``, ...) shape the
    bar only. ``leave=False``: in a log, a loop that ended before its first periodic line leaves none."""
    stream = sys.stderr if file is None else file
    if disable or is_terminal(stream):
        return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave, disable=disable, file=stream,
                    **bar_options)
    return ProgressLines(iterable, desc=desc, total=total, unit=unit, leave=leave, file=stream)


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class ProgressLines:
    """A loop's progress as whole lines: one each :data:`INTERVAL_S` seconds, and one at the end (when
    ``leave``, or when a line was written already and the count has moved since). No carriage return
    is ever written."""

    def __init__(self, iterable: Iterable | None = None, *, desc: str, total: int | None = None, unit: str = "it",
                 leave: bool = True, file: IO[str], clock=time.monotonic, interval_s: float | None = None) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable, self.desc, self.total, self.unit, self.leave = iterable, desc, total, unit, leave
        self.file, self.clock = file, clock
        self.interval_s = INTERVAL_S if interval_s is None else interval_s
        self.n = 0
        self.postfix = ""
        self.started = self.last_line = clock()
        self.lines = 0
        self.n_written = 0
        self.closed = False

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> ProgressLines:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last_line >= self.interval_s:
            self._write(now)

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **values: Any) -> None:
        values = {**(ordered_dict or {}), **values}
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        self.postfix = text

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if (self.leave and not self.lines) or (self.lines and self.n != self.n_written):
            self._write(self.clock())

    def line(self, now: float) -> str:
        elapsed = now - self.started
        done = f"{self.n}/{self.total} {self.unit}" if self.total else f"{self.n} {self.unit}"
        if self.total:
            done += f" ({100 * self.n / self.total:.0f}%)"
        rate = f", {self.n / elapsed:.1f} {self.unit}/s" if elapsed > 0 else ""
        postfix = f", {self.postfix}" if self.postfix else ""
        return f"{self.desc}: {done}, {elapsed:.0f} s{rate}{postfix}"

    def _write(self, now: float) -> None:
        self.file.write(self.line(now) + "\n")
        self.file.flush()
        self.lines += 1
        self.n_written = self.n
        self.last_line = now
