"""SYNTHETIC, format-exact ETL8G files: a stand-in for the real AIST ETL database.

The real ETL database is distributed by AIST only after registration, so the default neta run
cannot download it. This package writes files with exactly the ETL8G record layout (8199-byte
records, 128 x 127 images at 4 bits, JIS X 0208 codes, serial sheet number = writer), 5 writers x
956 characters per file (``ETL8G_01``, ``ETL8G_02``, ...), so the reader, the converter and the
model see the same bytes they would see with the real files. Nothing here is real handwriting.

The 956 characters of a sheet are 75 hiragana (:data:`neta.hiragana.etl.jis.HIRAGANA_75`) and 881 kanji, in
ascending JIS code order, so the hiragana come first. We could not find the real sheet order nor the
real ETL8 kanji list (the 881 "education kanji" of 1958) in a public source we could read; the kanji
are a deterministic stand-in: 881 JIS level-1 kanji evenly spaced in code order over 0x3021..0x4F43,
the code range AIST gives for ETL8. The reading field holds ``"<romaji>.HIRA"`` for hiragana (the
convention the real files use) and ``"KANJI"`` for kanji (no reading data is at hand).

Hiragana are drawn as pen strokes from KanjiVG's stroke paths (the ``kanjivg`` package on PyPI,
CC BY-SA 3.0, © Ulrich Apel and the KanjiVG contributors; read at run time, never copied into this
repository, and no render is committed). Each writer belongs to one style family (:data:`FAMILIES`:
ballpoint, felt marker, brush with pressure and tome/hane/harai stroke ends, light grainy pencil,
fast cursive with strong deformation and joined strokes, or a typeface warped like
handwriting), chosen by :func:`writer_family` from (seed, writer index) and recorded in
:data:`WRITERS_TABLE` beside the files. Within its family a writer has its own slant, rotation,
size and aspect, position, pen width, ink darkness, smooth deformation field, control-point wobble
and curvature noise, and its own way of writing the (semi-)voiced marks: KanjiVG's marks are taken
off and redrawn as two ticks of varying length, angle and gap, or an imperfect, sometimes open or
filled circle, at a writer's own size and distance from the body. The writer also has habits real
writers have (:mod:`.conventions`): き and さ with the last stroke joined or apart, か's third stroke
near the top right or a short tick, loops of ま, る, ぬ, ね and む of their own size and closure, short
or long hooks of て, a stray pen tick near the top right of a base character (a mark that is not a
dakuten), quick small open handakuten and stubby dakuten. Each sample adds its own jitter,
so writers differ the way people do and a writer-disjoint split is a real test; whole families can
be kept out of training (``hiragana.synth.heldout_families``) for a held-out-style test. Without
KanjiVG every writer writes from a font. Kanji are cheaper: font glyphs rendered once, then warped per
sample with a small affine transform (one batched ``grid_sample`` per writer), thickened or thinned
to the writer's pen.

A ``font`` writer takes one font, chosen from (seed, writer index) and recorded in the table:
IPAexGothic or one of the Japanese handwriting fonts drawn from real hands (:mod:`.handfonts`), whose
shapes differ from KanjiVG's one hand the way people's do. Each font's glyphs are sized alike and
brought to a normal pen, then warped per sample. Fonts named in ``hiragana.synth.heldout_fonts`` never
train; the held-out-style set adds ``font`` writers of those fonts only, so its accuracy also measures
unseen hands.

Glyph sources and their licences (none is committed; each is installed by ``make install``):
KanjiVG (CC BY-SA 3.0, the ``kanjivg`` package on PyPI); IPAexGothic (IPA Font License v1.0, inside
the ``japanize-matplotlib`` wheel); the handwriting fonts (SIL OFL 1.1, the npm packages
``@fontsource/<name>``, fetched by ``python -m neta.hiragana.etl.synth.handfonts install`` into the
venv, see :data:`.handfonts.HANDFONTS`).
"""

from neta.hiragana.etl.synth.styles import (
    FAMILIES,
    HELDOUT_WRITER_BASE,
    check_families,
    training_families,
    writer_family,
)
from neta.hiragana.etl.synth.write import synth_bytes, synth_etl
from neta.hiragana.etl.writers_table import (
    WRITERS_TABLE,
    read_writer_families,
    read_writer_fonts,
    read_writer_hands,
)

__all__ = [
    "FAMILIES",
    "HELDOUT_WRITER_BASE",
    "WRITERS_TABLE",
    "check_families",
    "read_writer_families",
    "read_writer_fonts",
    "read_writer_hands",
    "synth_bytes",
    "synth_etl",
    "training_families",
    "writer_family",
]
