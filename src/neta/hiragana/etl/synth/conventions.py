"""Real writers' conventions that KanjiVG's strokes lack, drawn per writer and varied per sample.

KanjiVG gives one textbook shape per character; people write the same character in a few common
ways, and a model trained only on the textbook shape reads their habits as other characters (a tick
near the top right as a dakuten, a small tight loop of る as ろ). So, per sample and by the writer's
habit:

- き / さ (ぎ / ざ): the last stroke joined to the diagonal before it, as many people write them;
- か (が): the short third stroke shorter, turned, or only a tick near the top right;
- て (で): the turn at the top right short or overshooting, the tail short or long;
- small loops (す な ぬ ね は ほ ま み む よ) larger or smaller, end loops left slightly open or closed
  with a short tail; る's end curl closed across the stroke or left open, smaller or larger;
- end hooks (hane of け は ほ に り た, き / さ's diagonal) short, long or turned;
- one stray pen mark near the top right: a tick or a dot beside the character, or an entry hook or a
  short tail on the stroke there. Never two: two ticks there are a dakuten.

Everything works on cubic Bézier segments ``(K, 4, 2)`` in KanjiVG units, before the pen's wobble,
so the writer's hand deforms these shapes like any other stroke. The character is recognised from
its strokes (KanjiVG's segment counts and first point) as :class:`~.glyphs.Glyph` does not carry it.
"""

from __future__ import annotations

import numpy as np

from neta.hiragana.etl.synth.pen import _Line, _pen_units
from neta.hiragana.etl.synth.styles import WriterStyle

_STEP = 9  # polyline intervals per segment: 10 points a segment, the knots shared, as glyphs._bezier

# KanjiVG's body strokes of the characters with a convention of their own: segments per stroke and
# the first point. The voiced forms share the body, so ぎ ざ が で follow き さ か て.
_SHAPES = (
    ("ki", (3, 3, 3, 1), (30.5, 30.2)),
    ("sa", (3, 3, 1), (27.0, 38.9)),
    ("ka", (4, 3, 1), (24.6, 38.6)),
    ("te", (5,), (20.5, 26.4)),
)
_MAX_LOOP = 80.0  # units of perimeter: larger self-crossings are the body of あ お め ぬ, not a loop
_END_LOOP = 30.0  # a loop whose stroke goes on for less than this after closing ends the stroke
# ぬ ね end in their loop and a quick hand may not close it; ま は ほ よ な cross their vertical and go
# on (17 units and more): that crossing is the character, so those loops stay closed
_OPEN_TAIL = 15.0
_TICK_KINDS = ("tick", "dot", "entry", "tail")
_SHARP = float(np.deg2rad(80.0))  # a turn this sharp is a hook or a corner, not a curve
_SHORT = 40.0  # units: a stroke this short (か's third, と's first, お's dot) is itself tick-like


def shape_of(body: list[np.ndarray]) -> str | None:
    """Which character with its own convention ``body`` is (``"ki"``, ``"sa"``, ``"ka"``, ``"te"``), or None."""
    counts = tuple(len(s) for s in body)
    for name, shape, first in _SHAPES:
        if counts == shape and np.allclose(body[0][0, 0], first, atol=3.0):
            return name
    return None


def written_body(
    body: list[np.ndarray], marked: bool, style: WriterStyle, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[_Line]]:
    """The body strokes as this writer writes them this time, and a stray pen mark if one is made."""
    body = [s.copy() for s in body if s.size]
    name = shape_of(body)
    own: set[int] = set()  # strokes a character's own convention shaped: no generic hook on top
    if name in ("ki", "sa"):
        if rng.random() < style.join_last:
            body = body[:-2] + [_join(body[-2], body[-1], rng)]
            own.add(len(body) - 1)
    elif name == "ka":
        body[2] = _ka_third(body[2], style, rng)
        own.add(2)
    elif name == "te":
        body[0] = _te(body[0], style, rng)
        own.add(0)
    pen = _pen_units(style)
    for i, segments in enumerate(body):
        points = _polyline(segments)
        shaped = _loop(segments, points, style, rng, pen)
        if i not in own:
            shaped = _hook(shaped, points if shaped is segments else _polyline(shaped), style, rng)
        body[i] = shaped
    extra: list[_Line] = []
    if rng.random() < style.pen_tick:
        body, extra = _pen_mark(body, marked, style, rng, pen)
    return body, extra


# --- geometry on cubic segments ----------------------------------------------------------------


def _basis() -> np.ndarray:
    t = np.linspace(0.0, 1.0, _STEP + 1)[:, None]
    basis = np.concatenate([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3], axis=1)
    basis.setflags(write=False)  # a constant shared by every call
    return basis


_BASIS = _basis()


def _polyline(segments: np.ndarray) -> np.ndarray:
    """The points glyphs._bezier draws a stroke through, by one matrix product (this runs per stroke and sample)."""
    points = _BASIS @ segments  # (K, 10, 2)
    return np.concatenate([points[0, :1], points[:, 1:].reshape(-1, 2)])


def _split(seg: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """De Casteljau: one cubic segment (4, 2) as the two halves either side of ``t``."""
    p0, p1, p2, p3 = seg
    a, b, c = p0 + (p1 - p0) * t, p1 + (p2 - p1) * t, p2 + (p3 - p2) * t
    d, e = a + (b - a) * t, b + (c - b) * t
    f = d + (e - d) * t
    return np.array([p0, a, d, f]), np.array([f, e, c, p3])


def _cut(segments: np.ndarray, u: float) -> tuple[np.ndarray, np.ndarray]:
    """The stroke cut at polyline position ``u`` (interval index + fraction, of :func:`_polyline`'s points)."""
    k = int(min(max(u, 0.0) // _STEP, len(segments) - 1))
    t = float(np.clip(u / _STEP - k, 0.0, 1.0))
    left, right = _split(segments[k], t)
    return np.concatenate([segments[:k], left[None]]), np.concatenate([right[None], segments[k + 1 :]])


def _arc(points: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])


def _at(arc: np.ndarray, length: float) -> float:
    """Polyline position at arc ``length``."""
    return float(np.interp(length, arc, np.arange(arc.size)))


def _rot(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _about(segments: np.ndarray, centre: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return centre + (segments - centre) @ matrix.T


def _crossings(points: np.ndarray) -> list[tuple[float, float]]:
    """Where a polyline crosses itself: (earlier, later) positions, earlier first."""
    a0, d = points[:-1], np.diff(points, axis=0)
    i, j = np.triu_indices(len(a0), 2)
    den = d[i, 0] * d[j, 1] - d[i, 1] * d[j, 0]
    r = a0[j] - a0[i]
    safe = np.where(np.abs(den) > 1e-12, den, 1.0)
    s = (r[:, 0] * d[j, 1] - r[:, 1] * d[j, 0]) / safe
    t = (r[:, 0] * d[i, 1] - r[:, 1] * d[i, 0]) / safe
    hit = (np.abs(den) > 1e-12) & (s >= 0) & (s < 1) & (t >= 0) & (t < 1)
    return [(float(i[k] + s[k]), float(j[k] + t[k])) for k in np.flatnonzero(hit)]


def _last_turn(points: np.ndarray, min_angle: float = _SHARP) -> int | None:
    """Point index of the sharpest turn in the stroke's last run of sharp turns, or None."""
    turns = _turns(points)
    sharp = turns > min_angle
    if not sharp.any():
        return None
    last = int(np.flatnonzero(sharp)[-1])
    first = last
    while first > 0 and sharp[first - 1]:
        first -= 1
    return first + int(np.argmax(turns[first : last + 1]))


def _turns(points: np.ndarray, w: int = 2) -> np.ndarray:
    """Turning angle (radians) at each point, over ``w`` intervals either side; 0 at the ends."""
    out = np.zeros(len(points))
    if len(points) <= 2 * w:
        return out
    a, b = points[w:-w] - points[: -2 * w], points[2 * w :] - points[w:-w]
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-9)
    out[w:-w] = np.arccos(np.clip(cos, -1.0, 1.0))
    return out


# --- a character's own conventions ---------------------------------------------------------------


def _join(diagonal: np.ndarray, bottom: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """き / さ's diagonal run on into the bottom stroke: no hook, a line back down-left, then the sweep."""
    turn = _last_turn(_polyline(diagonal))
    head = diagonal if turn is None else _cut(diagonal, float(turn))[0]
    h, q = head[-1, 3], bottom[0, 0]
    span = float(np.linalg.norm(q - h))
    leave = head[-1, 3] - head[-1, 2]
    leave = leave / (np.linalg.norm(leave) + 1e-9)
    # the pen rounds the bottom of the diagonal, then heads for the bottom stroke's start; some arrive
    # straight (a sharp corner there, as in a typeface), some from above (a rounder turn)
    arrive = _rot(rng.normal(0.0, 0.25)) @ ((h - q) / (span + 1e-9))
    bridge = np.array([h, h + leave * span * rng.uniform(0.1, 0.25), q + arrive * span * 0.3, q])
    return np.concatenate([head, bridge[None], bottom])


def _ka_third(stroke: np.ndarray, style: WriterStyle, rng: np.random.Generator) -> np.ndarray:
    """か's short right stroke: the writer's length and angle, sometimes only a tick near the top right."""
    start = stroke[0, 0]
    if rng.random() < style.ka_tick:
        length = rng.uniform(0.25, 0.42)
        shift = np.array([rng.uniform(0.0, 4.0), rng.uniform(-5.0, 0.0)])
    else:
        length = style.ka_len * rng.uniform(0.85, 1.15)
        shift = rng.normal(0.0, 1.5, 2)
    angle = style.ka_angle + rng.normal(0.0, 0.12)
    return _about(stroke, start, _rot(angle) * length) + shift


def _te(stroke: np.ndarray, style: WriterStyle, rng: np.random.Generator) -> np.ndarray:
    """て: the turn at the top right short or overshooting (sometimes a small loop), the tail short or long."""
    out = stroke.copy()
    turn = out[2]  # KanjiVG: the excursion out to the right and back
    reach = style.hook_len * rng.uniform(0.75, 1.25)
    spread = rng.choice([1.0, rng.uniform(1.5, 3.0)], p=[0.75, 0.25])  # a rounded turn or a small loop
    base = turn[0]
    out[2] = base + (turn - base) * np.array([reach, spread])
    out[3, 0] = out[2, 3]
    points = _polyline(out[3:])
    arc = _arc(points)
    head, tail = _cut(out[3:], _at(arc, 0.8 * arc[-1]))
    tail = _about(tail, tail[0, 0], np.eye(2) * rng.uniform(0.5, 1.5))
    return np.concatenate([out[:3], head, tail])


# --- generic conventions: loops and end hooks ----------------------------------------------------


def _loop(
    segments: np.ndarray, points: np.ndarray, style: WriterStyle, rng: np.random.Generator, pen: float
) -> np.ndarray:
    """The stroke's small loop at the writer's size; an end loop left open or closed with a short tail."""
    if len(segments) < 4:
        return segments
    arc = _arc(points)
    loops = [(a, b) for a, b in _crossings(points) if _MAX_LOOP >= _interp(arc, b) - _interp(arc, a) >= 8.0]
    if not loops:
        return _curl(segments, points, arc, style, rng, pen)
    ua, ub = loops[-1]
    tail = arc[-1] - _interp(arc, ub)
    opened = tail < _OPEN_TAIL and rng.random() < style.loop_open
    pre, rest = _cut(segments, ua)
    loop, post = _cut(rest, _position_after(ua, ub))
    x = loop[0, 0]
    # small, or open, not both: a small loop that does not close is no loop any more
    size = max(_loop_size(loop, style, rng, pen), 0.9 if opened else 0.0)
    squash = rng.normal(0.0, 0.06)
    loop = _about(loop, x, np.diag([size * (1 + squash), size * (1 - squash)]))
    if opened:
        # the pen lifts before it closes the loop: a gap of about a pen width, never much of the loop
        loop_arc = _arc(_polyline(loop))
        gap = min(pen * rng.uniform(1.3, 2.2) + 1.0, 0.18 * loop_arc[-1])
        return np.concatenate([pre, _cut(loop, _at(loop_arc, loop_arc[-1] - gap))[0]])
    post = post + (loop[-1, 3] - post[0, 0])
    if tail < _END_LOOP:  # a closed end loop: a short or a long tail after it
        post = _about(post, post[0, 0], np.eye(2) * rng.uniform(0.3, 1.3))
    return np.concatenate([pre, loop, post])


def _loop_size(loop: np.ndarray, style: WriterStyle, rng: np.random.Generator, pen: float) -> float:
    """The writer's loop size this time; however small, the loop keeps a hole the pen does not fill."""
    extent = float(np.ptp(loop.reshape(-1, 2), axis=0).max())
    return max(style.loop_scale * rng.uniform(0.85, 1.15), (3.0 * pen + 6.0) / max(extent, 1e-6))


def _curl(
    segments: np.ndarray, points: np.ndarray, arc: np.ndarray, style: WriterStyle, rng: np.random.Generator,
    pen: float,
) -> np.ndarray:
    """An end curl that comes back beside its stroke without crossing it (る): sized, then closed or left open."""
    earlier = arc < arc[-1] - 35.0
    if not earlier.any():
        return segments
    dist = np.linalg.norm(points[earlier] - points[-1], axis=1)
    k = int(np.argmin(dist))
    if dist[k] > 10.0 or _turns(points[k:], 1).sum() < 1.1 * np.pi:
        return segments
    pre, curl = _cut(segments, float(k))
    x = curl[0, 0]
    opened = rng.random() < style.loop_open
    curl = _about(curl, x, np.eye(2) * max(_loop_size(curl, style, rng, pen), 0.9 if opened else 0.0))
    if opened:
        return np.concatenate([pre, curl])
    # closed: the end runs on across the stroke, just past it
    end, before = curl[-1, 3], curl[-1, 2]
    heading = (end - before) / (np.linalg.norm(end - before) + 1e-9)
    to_stroke = x - end
    reach = float(np.linalg.norm(to_stroke))
    along = max(float(heading @ to_stroke) / (reach + 1e-9), 0.5)
    run = reach / along + 0.5 * pen + rng.uniform(0.5, 3.0)
    tail = end + np.outer([0.0, 1 / 3, 2 / 3, 1.0], heading * run)
    return np.concatenate([pre, curl, tail[None]])


def _hook(segments: np.ndarray, points: np.ndarray, style: WriterStyle, rng: np.random.Generator) -> np.ndarray:
    """An end hook (hane: a sharp turn just before the end) at the writer's length, turned a little."""
    arc = _arc(points)
    if arc[-1] < 40.0:  # short strokes (う's top, ふ's dots) only curve; they have no hane
        return segments
    k = _last_turn(points)
    if k is None:
        return segments
    hook_length = arc[-1] - arc[k]
    if not 2.0 <= hook_length <= min(18.0, 0.3 * arc[-1]):
        return segments
    head, hook = _cut(segments, float(k))
    factor = style.hook_len * rng.uniform(0.8, 1.2)
    hook = _about(hook, hook[0, 0], _rot(rng.normal(0.0, 0.15)) * factor)
    return np.concatenate([head, hook])


def _interp(arc: np.ndarray, u: float) -> float:
    return float(np.interp(u, np.arange(arc.size), arc))


def _position_after(ua: float, ub: float) -> float:
    """Position ``ub`` of a stroke in the part that begins at ``ua``."""
    ka = int(ua // _STEP)
    ta = ua / _STEP - ka
    kb, tb = int(ub // _STEP), ub / _STEP - int(ub // _STEP)
    if kb == ka:
        return _STEP * (tb - ta) / max(1.0 - ta, 1e-9)
    return _STEP * (kb - ka + tb)


# --- a stray pen mark near the top right ---------------------------------------------------------


def _pen_mark(
    body: list[np.ndarray], marked: bool, style: WriterStyle, rng: np.random.Generator, pen: float,
    kind: str | None = None,
) -> tuple[list[np.ndarray], list[_Line]]:
    """One small stray mark where a dakuten would go: beside the character or on the stroke there.

    A character with a mark keeps its top right for the mark: only the attached kinds go there.
    """
    kind = kind or str(rng.choice(_TICK_KINDS, p=[0.25, 0.25, 0.3, 0.2]))
    if marked and kind in ("tick", "dot"):
        kind = "entry" if kind == "tick" else "tail"
    polylines = [_polyline(s) for s in body]
    points = np.concatenate(polylines)
    low, high = points.min(axis=0), points.max(axis=0)
    corner = np.array([high[0], low[1]])
    size = float(np.max(high - low))
    if kind in ("entry", "tail"):
        ends = np.array([p[0] if kind == "entry" else p[-1] for p in polylines])
        near = np.linalg.norm(ends - corner, axis=1)
        # a hook on a short stroke (か's third, と's first) bends it into the two ticks of a dakuten
        near[[_arc(p)[-1] < _SHORT for p in polylines]] = np.inf
        i = int(np.argmin(near))
        if near[i] <= 0.4 * size:
            body = list(body)
            body[i] = _entry(body[i], rng) if kind == "entry" else _tail(body[i], rng)
            return body, []
        if marked:
            return body, []
        kind = "tick"
    line = _stray(polylines, corner, kind, pen, rng)
    return body, [] if line is None else [line]


def _entry(segments: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The pen lands and turns: a short hook into the stroke's start, or a pressed-in blob."""
    start = segments[0, 0]
    heading = segments[0, 1] - start if np.linalg.norm(segments[0, 1] - start) > 1e-6 else segments[0, 3] - start
    heading = heading / (np.linalg.norm(heading) + 1e-9)
    back = _rot(rng.choice([-1.0, 1.0]) * rng.uniform(2.1, 2.8)) @ heading * rng.uniform(1.5, 6.0)
    landing = start + back
    return np.concatenate([(landing + np.outer([0.0, 1 / 3, 2 / 3, 1.0], start - landing))[None], segments])


def _tail(segments: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The pen leaves with a short flick off the stroke's end."""
    end = segments[-1, 3]
    heading = end - segments[-1, 2] if np.linalg.norm(end - segments[-1, 2]) > 1e-6 else end - segments[-1, 0]
    heading = heading / (np.linalg.norm(heading) + 1e-9)
    flick = _rot(rng.choice([-1.0, 1.0]) * rng.uniform(1.6, 2.6)) @ heading * rng.uniform(3.0, 7.0)
    return np.concatenate([segments, (end + np.outer([0.0, 1 / 3, 2 / 3, 1.0], flick))[None]])


def _tickish(points: np.ndarray) -> np.ndarray:
    """How far (units) a mark must keep from each point of a stroke not to pair with it as a dakuten:
    far from a short stroke, which is a tick itself; off a long stroke's ends and sharp turns."""
    arc = _arc(points)
    if arc[-1] < _SHORT:
        return np.full(len(points), 40.0)
    near = (arc < 8.0) | (arc > arc[-1] - 8.0)
    sharp = np.flatnonzero(_turns(points) > _SHARP)
    for k in (-2, -1, 0, 1, 2):
        near[np.clip(sharp + k, 0, len(points) - 1)] = True
    return np.where(near, 16.0, 0.0)


def _stray(
    polylines: list[np.ndarray], corner: np.ndarray, kind: str, pen: float, rng: np.random.Generator
) -> _Line | None:
    """A single tick or dot near ``corner``, standing apart from the strokes; None where no place will do.

    A mark beside a short stroke (か's third, と's first, お's dot), a stroke's end or a sharp turn
    (て's top right), or along a stroke near it would make two ticks, a dakuten: such places are refused.
    """
    # a speck of a pen that grazed the paper: shorter and lighter than a dakuten's tick (7 units and more)
    length = rng.uniform(1.5, 3.5) if kind == "tick" else rng.uniform(0.2, 1.0)
    width = rng.uniform(0.5, 0.8)
    angle = rng.uniform(0.0, np.pi)
    d = np.array([np.cos(angle), np.sin(angle)])
    t = np.linspace(-0.5, 0.5, 6)[:, None]
    shape = t * length * d + (1 - 4 * t**2) * np.array([-d[1], d[0]]) * rng.normal(0.0, 0.1) * length
    # ink to ink at least a little more than nothing: the mark must stand apart, not thicken a stroke
    clearance = pen * 1.1 + rng.uniform(0.5, 3.0)
    start = corner + np.array([rng.uniform(-12.0, 4.0), rng.uniform(-4.0, 14.0)])
    # step out towards the top right until the mark clears the strokes
    centres = start + np.arange(12)[:, None] * 1.5 * np.array([0.6, -0.8])
    marks = centres[:, None, :] + shape[None]  # (C, 6, 2)
    points = np.concatenate(polylines)
    heading = np.concatenate([np.gradient(p, axis=0) for p in polylines])
    heading /= np.linalg.norm(heading, axis=1, keepdims=True) + 1e-9
    keep = np.concatenate([_tickish(p) for p in polylines])
    if kind == "tick":  # nor run alongside a stroke
        keep = np.where(np.abs(heading @ d) > np.cos(np.deg2rad(35.0)), np.maximum(keep, 16.0), keep)
    dist = np.linalg.norm(marks[:, :, None, :] - points[None, None], axis=-1).min(axis=1)  # (C, P)
    paired = ((keep > 0) & (dist < pen + keep)).any(axis=1)
    clear = np.flatnonzero((dist.min(axis=1) >= clearance) & ~paired)
    if not clear.size:
        return None
    return _Line(marks[clear[0]], np.full(6, width))
