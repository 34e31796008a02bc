"""Writer styles: the style families and the parameters each synthetic writer draws from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neta.errors import NetaError
from neta.hiragana.etl.synth.glyphs import SVG_SIZE

# Each writer uses one pen and one way of writing. A family fixes the kind (ballpoint, felt marker,
# brush with pressure and tome/hane/harai ends, light grainy pencil, fast cursive, or one font, a
# handwriting font or IPAexGothic, warped like handwriting); the writer draws the family's parameters
# from its ranges. The held-out-style protocol trains on some families and tests on writers of the
# others only.
FAMILIES = ("ballpoint", "marker", "brush", "pencil", "cursive", "font")
# Writer ids of held-out-style sets start here, far from any training set's 1..1000, so a held-out
# writer is never one of the training writers (the ETL sheet field is 16-bit).
HELDOUT_WRITER_BASE = 50_000
_FAMILY_STREAM = 1 << 21  # seed stream of the family rotation, apart from the writers' own streams

# (low, high) ranges a writer draws from, by family; missing keys take _COMMON's range.
_COMMON = {
    "slant": (-0.25, 0.25),
    "rotation_deg": (-5.0, 5.0),
    "scale": (0.62, 1.0),
    "aspect": (0.85, 1.18),
    "offset": (-5.0, 5.0),
    "pen": (2.4, 4.6),
    "ink": (10.5, 15.0),
    "wobble": (0.6, 2.0),
    "field_amp": (0.8, 3.0),
    "bend": (0.0, 1.5),
    "pressure": (0.0, 0.15),
    "harai": (0.0, 0.1),
    "hane": (0.0, 0.05),
    "grain": (0.0, 0.0),
    "connect": (0.0, 0.0),
    "noise": (0.0, 0.02),
    "mark_scale": (1.0, 1.6),
    "ring_fill": (0.0, 0.0),
    # real writers' conventions (conventions.py) and quick marks (voicing.py): habits, as probabilities
    # or factors on KanjiVG's shape
    "join_last": (0.0, 0.8),
    "ka_len": (0.5, 1.1),
    "ka_angle": (-0.35, 0.3),
    "ka_tick": (0.0, 0.3),
    "loop_scale": (0.65, 1.3),
    "loop_open": (0.0, 0.4),
    "hook_len": (0.3, 1.4),
    "pen_tick": (0.0, 0.2),
    "ring_small": (0.0, 0.5),
    "tick_short": (0.0, 0.4),
    "tick_close": (0.0, 0.4),
}
_FAMILY_RANGES = {
    "ballpoint": {"pen": (2.0, 3.6), "wobble": (0.6, 1.8)},
    "marker": {"pen": (4.6, 7.2), "ink": (13.0, 15.0), "wobble": (0.5, 1.5), "ring_fill": (0.0, 0.1)},
    "brush": {
        "pen": (3.6, 6.4), "pressure": (0.35, 0.7), "harai": (0.35, 0.8), "hane": (0.2, 0.5),
        "ink": (12.5, 15.0), "wobble": (0.5, 1.5),
        "hook_len": (0.8, 1.6), "pen_tick": (0.05, 0.25), "join_last": (0.0, 0.4),
    },
    "pencil": {"pen": (1.8, 3.2), "ink": (5.5, 9.5), "grain": (0.25, 0.6), "wobble": (0.8, 2.0), "noise": (0.0, 0.04)},
    "cursive": {
        "slant": (-0.1, 0.4), "rotation_deg": (-8.0, 6.0), "wobble": (1.5, 3.0), "field_amp": (2.0, 4.5),
        "bend": (1.2, 3.5), "connect": (0.3, 0.8), "pressure": (0.0, 0.3), "harai": (0.1, 0.4),
        "aspect": (0.75, 1.3), "ring_fill": (0.0, 0.08),
        "join_last": (0.4, 0.95), "pen_tick": (0.1, 0.35), "loop_open": (0.1, 0.5), "ka_tick": (0.1, 0.45),
        "ring_small": (0.2, 0.7), "tick_short": (0.1, 0.5),
    },
    "font": {"wobble": (0.0, 0.0), "field_amp": (0.5, 2.0), "slant": (-0.15, 0.15)},
}


@dataclass(frozen=True)
class WriterStyle:
    family: str
    slant: float  # shear x += slant * y
    rotation: float  # radians
    scale_x: float
    scale_y: float
    offset: tuple[float, float]  # pixels at 128 x 127
    pen: float  # pen width in pixels at 128 x 127
    ink: float  # level of a fully inked pixel, <= 15
    wobble: float  # control-point noise, KanjiVG units
    field_amp: float  # smooth deformation amplitude, KanjiVG units
    field_freq: np.ndarray  # (3, 2) wave vectors of the deformation field
    field_phase: np.ndarray  # (3, 2)
    bend: float  # curvature noise: a stroke's middle bows sideways by up to this many units
    pressure: float  # how much the width swells and thins along a stroke (brush: large)
    harai: float  # probability that a stroke ends in a tapering sweep
    hane: float  # probability that a stroke ends in a short flick
    grain: float  # pencil: fraction of a stroke's ink the paper's grain may take away
    connect: float  # cursive: probability of a hairline joining a stroke to the next
    noise: float  # probability of a background speck
    mark_scale: float  # dakuten/handakuten size relative to KanjiVG's (people write them larger)
    mark_shift: tuple[float, float]  # where the writer puts marks relative to KanjiVG's, units
    tick_len: float  # dakuten tick length, units
    tick_angle: float  # dakuten tick direction, radians (y down: positive points down-right)
    tick_gap: float  # distance between the two ticks, units
    tick_sep: float  # direction from the first tick to the second, radians
    ring_radius: float  # handakuten radius, units
    ring_aspect: float  # handakuten width / height
    ring_open: float  # how much of the circle a quick hand may leave open (fraction of a turn)
    ring_fill: float  # probability that the handakuten is a filled dot
    gender: int
    age: int
    # drawn after the fields above, so a writer keeps the pen and marks it had before these existed
    join_last: float  # き / さ: probability the last stroke is joined to the diagonal before it
    ka_len: float  # か: length of the short third stroke relative to KanjiVG's
    ka_angle: float  # か: turn of that stroke from KanjiVG's direction, radians
    ka_tick: float  # か: probability that stroke is only a short tick near the top right
    loop_scale: float  # size of small loops (ま る ぬ ね む ...) relative to KanjiVG's
    loop_open: float  # probability an end loop (or る's curl) is left open rather than closed
    hook_len: float  # length of end hooks (hane) and of て's top-right turn relative to KanjiVG's
    pen_tick: float  # probability of one stray tick, dot, entry hook or tail near the top right
    ring_small: float  # probability the handakuten is a small quick circle: open, a C or a spiral
    tick_short: float  # probability the dakuten ticks come out short, or as two dots
    tick_close: float  # probability the two dakuten ticks are written close together


def check_families(names, key: str) -> tuple[str, ...]:
    """``names`` as a tuple of known family names; an unknown one is an error naming ``key``."""
    names = tuple(names)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise NetaError(f"{key}: unknown writer style famil(y/ies) {unknown}; known: {', '.join(FAMILIES)}")
    return names


def training_families(heldout) -> tuple[str, ...]:
    """The families training writers use: all but the held-out ones."""
    heldout = check_families(heldout, "hiragana.synth.heldout_families")
    train = tuple(f for f in FAMILIES if f not in heldout)
    if not train:
        raise NetaError("hiragana.synth.heldout_families: holds out every family; leave at least one for training")
    return train


def writer_family(seed: int, index: int, families) -> str:
    """The style family of writer ``index`` (0-based) among ``families``, deterministic in (seed, index).

    Families are taken in turn from a seeded start, so even a run of a few writers has each family
    in equal share (a random draw could leave one out of a 40-writer run).
    """
    families = check_families(families, "families")
    if not families:
        raise NetaError("writer_family: no families to choose from")
    start = int(np.random.default_rng([seed, _FAMILY_STREAM]).integers(len(families)))
    return families[(index + start) % len(families)]


def writer_style(rng: np.random.Generator, family: str = "ballpoint") -> WriterStyle:
    ranges = {**_COMMON, **_FAMILY_RANGES[family]}

    def u(name: str) -> float:
        lo, hi = ranges[name]
        return float(rng.uniform(lo, hi))

    scale, aspect = u("scale"), u("aspect")
    return WriterStyle(
        family=family,
        slant=u("slant"),
        rotation=float(np.deg2rad(u("rotation_deg"))),
        scale_x=scale * np.sqrt(aspect),
        scale_y=scale / np.sqrt(aspect),
        offset=(u("offset"), u("offset")),
        pen=u("pen"),
        ink=u("ink"),
        wobble=u("wobble"),
        field_amp=u("field_amp"),
        field_freq=rng.normal(0.0, 1.0, (3, 2)) * (2 * np.pi / SVG_SIZE) * 1.2,
        field_phase=rng.uniform(0, 2 * np.pi, (3, 2)),
        bend=u("bend"),
        pressure=u("pressure"),
        harai=u("harai"),
        hane=u("hane"),
        grain=u("grain"),
        connect=u("connect"),
        noise=u("noise"),
        mark_scale=u("mark_scale"),
        mark_shift=(float(rng.normal(1.0, 2.5)), float(rng.normal(-0.5, 2.5))),
        tick_len=float(rng.uniform(7.0, 11.0)),
        tick_angle=float(rng.uniform(0.55, 1.35)),
        tick_gap=float(rng.uniform(5.0, 10.0)),
        tick_sep=float(rng.uniform(-0.9, -0.15)),
        ring_radius=float(rng.uniform(6.0, 10.0)),
        ring_aspect=float(rng.uniform(0.8, 1.25)),
        ring_open=float(rng.uniform(0.0, 0.25)),
        ring_fill=u("ring_fill"),
        gender=int(rng.integers(1, 3)),
        age=int(rng.integers(16, 66)),
        join_last=u("join_last"),
        ka_len=u("ka_len"),
        ka_angle=u("ka_angle"),
        ka_tick=u("ka_tick"),
        loop_scale=u("loop_scale"),
        loop_open=u("loop_open"),
        hook_len=u("hook_len"),
        pen_tick=u("pen_tick"),
        ring_small=u("ring_small"),
        tick_short=u("tick_short"),
        tick_close=u("tick_close"),
    )
