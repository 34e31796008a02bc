"""Piecewise-constant schedules, as the hiragana original stepped its learning rate and dropout.

A schedule is written ``[[step, value], ...]``: ``value`` holds from ``step`` (inclusive) until the
next entry's step. The first entry must be at step 0 so that every step has a value.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from neta.errors import NetaError


@dataclass(frozen=True)
class PiecewiseConstant:
    steps: tuple[int, ...]
    values: tuple[float, ...]

    def __call__(self, step: int) -> float:
        return self.values[bisect.bisect_right(self.steps, step) - 1]

    def to_list(self) -> list[list]:
        return [[s, v] for s, v in zip(self.steps, self.values, strict=True)]


def piecewise_constant(
    points: Sequence[Sequence],
    *,
    key: str,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = False,
    high_inclusive: bool = True,
) -> PiecewiseConstant:
    """Validate ``points`` and build the schedule; errors name ``key`` (the config key) and the fix.

    ``low`` / ``high`` bound every value (exclusive or inclusive as flagged).
    """
    example = "e.g. [[0, 1.0e-3], [1000, 1.0e-4]]"
    if isinstance(points, (str, bytes)) or not isinstance(points, Sequence) or len(points) == 0:
        raise NetaError(f"{key}: expected a non-empty list of [step, value] pairs, {example}; got {points!r}")
    steps: list[int] = []
    values: list[float] = []
    for i, pair in enumerate(points):
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise NetaError(f"{key}[{i}]: expected a [step, value] pair, {example}; got {pair!r}")
        step, value = pair
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step != int(step) or step < 0:
            raise NetaError(f"{key}[{i}]: step must be a non-negative integer, got {step!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise NetaError(f"{key}[{i}]: value must be a finite number, got {value!r}")
        step, value = int(step), float(value)
        if steps and step <= steps[-1]:
            raise NetaError(
                f"{key}[{i}]: steps must increase strictly, but step {step} follows {steps[-1]}; "
                "sort the pairs by step and drop duplicates"
            )
        if low is not None and (value < low or (value == low and not low_inclusive)):
            bound = ">=" if low_inclusive else ">"
            raise NetaError(f"{key}[{i}]: value must be {bound} {low}, got {value}")
        if high is not None and (value > high or (value == high and not high_inclusive)):
            bound = "<=" if high_inclusive else "<"
            raise NetaError(f"{key}[{i}]: value must be {bound} {high}, got {value}")
        steps.append(step)
        values.append(value)
    if steps[0] != 0:
        raise NetaError(f"{key}: the first pair must start at step 0 (got {steps[0]}), {example}")
    return PiecewiseConstant(tuple(steps), tuple(values))


def learning_rate_schedule(points: Sequence[Sequence], key: str = "lr_schedule") -> PiecewiseConstant:
    return piecewise_constant(points, key=key, low=0.0)


def keep_prob_schedule(points: Sequence[Sequence], key: str = "keep_prob_schedule") -> PiecewiseConstant:
    # A keep-probability of 0 would zero the whole layer; 1 means no dropout.
    return piecewise_constant(points, key=key, low=0.0, high=1.0)
