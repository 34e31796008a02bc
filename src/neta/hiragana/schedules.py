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
    points: Sequence[Sequence[float]],
    *,
    key: str,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = False,
    high_inclusive: bool = True,
) -> PiecewiseConstant:
    """Build the schedule of ``points``; errors name ``key`` (the config key) and the fix.

    ``points`` come from the validated config: the schema's ``schedule`` definition already makes
    them a non-empty list of [number, number] pairs. Only what the schema does not check is checked
    here: steps that start at 0 and increase strictly (an order JSON Schema cannot express) and are
    whole and non-negative (its pairs are any two numbers), finite values (YAML's ``.nan`` and ``.inf``
    pass as numbers), and ``low`` / ``high``, bounds on every value (exclusive or inclusive as
    flagged) that the one schedule definition, shared by the learning rate and the keep-probability,
    cannot give.
    """
    example = "e.g. [[0, 1.0e-3], [1000, 1.0e-4]]"
    steps: list[int] = []
    values: list[float] = []
    for i, (step, value) in enumerate(points):
        if not (math.isfinite(step) and step == int(step) and step >= 0):
            raise NetaError(f"{key}[{i}]: step must be a non-negative integer, got {step!r}")
        if not math.isfinite(value):
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
