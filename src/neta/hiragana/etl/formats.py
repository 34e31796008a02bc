"""Record layouts of the AIST ETL character database files neta reads and writes.

Shared by the reader and the writer (and nothing else of theirs is shared): the layouts below and
:class:`EtlRecords`, the in-memory form of a file's samples. The writer and the synthetic-data stage
import this module, never :mod:`neta.hiragana.etl.reader`, so editing the reader does not rerun them.

Each layout follows AIST's format sheets (form_e8g, form_e9g, form_e8b, form_e9b, form_m):

===========  ======  =========  ======  ====  =====  ============  ===========================
format       record  image      offset  bits  dummy  code          files
===========  ======  =========  ======  ====  =====  ============  ===========================
ETL8G        8199    128 x 127  60      4     no     JIS X 0208    ETL8G_01 .. ETL8G_33
ETL9G        8199    128 x 127  64      4     no     JIS X 0208    ETL9G_01 .. ETL9G_50
ETL8B2       512     64 x 63    8       1     yes    JIS X 0208    ETL8B2C1 .. ETL8B2C3
ETL9B        576     64 x 63    8       1     yes    JIS X 0208    ETL9B_1 .. ETL9B_5
ETL1         2052    64 x 63    32      4     no     JIS X 0201    ETL1C_01 .. ETL1C_13
ETL6         2052    64 x 63    32      4     no     JIS X 0201    ETL6C_01 .. ETL6C_12
ETL7         2052    64 x 63    32      4     no     JIS X 0201 *  ETL7LC_1, ETL7SC_1, ..
===========  ======  =========  ======  ====  =====  ============  ===========================

All integers are big-endian. Every byte of a record belongs to a named field (undefined areas are
``_undefinedN`` void fields) so a file read and written again comes out byte for byte the same.

Images are packed row by row, most significant bits first: two pixels a byte at 4 bits, eight at
1 bit. Ink is the high value (15 or 1), paper is 0.

The writer of a record is the *serial sheet number* in every format (field 0 of the G and B types,
bytes 5-6 of the M type).

\\* ETL7 is the hiragana database, but the M type has only a one-byte JIS X 0201 code field, which
has katakana and no hiragana. ETL7 therefore stores each hiragana under the JIS X 0201 code of the
katakana with the same sound (ｱ = 0xB1 for あ). neta decodes ETL7 codes as those hiragana
(``code_kind="jis0201_hiragana"``) and ETL1/ETL6 codes as what they say (katakana, digits, Latin).
We could not confirm this from a second public source, so it rests on AIST's description of ETL7 as
a hiragana set stored in the M-type layout.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neta.errors import NetaError

# Fields of the G type (ETL8G/ETL9G) up to the undefined area, in file order.
_G_FIELDS = [
    ("sheet", ">u2"),
    ("code", ">u2"),
    ("reading", "S8"),
    ("serial", ">u4"),
    ("eval_char", "u1"),
    ("eval_group", "u1"),
    ("gender", "u1"),
    ("age", "u1"),
    ("industry", ">u2"),
    ("occupation", ">u2"),
    ("gather_date", ">u2"),
    ("scan_date", ">u2"),
    ("pos_x", "u1"),
    ("pos_y", "u1"),
]

_M_FIELDS = [
    ("data_number", ">u2"),
    ("char_code", "S2"),
    ("sheet", ">u2"),
    ("code", "u1"),
    ("ebcdic", "u1"),
    ("eval_char", "u1"),
    ("eval_group", "u1"),
    ("gender", "u1"),
    ("age", "u1"),
    ("serial", ">u4"),
    ("industry", ">u2"),
    ("occupation", ">u2"),
    ("gather_date", ">u2"),
    ("scan_date", ">u2"),
    ("pos_y", "u1"),
    ("pos_x", "u1"),
    ("min_level", "u1"),
    ("max_level", "u1"),
]


@dataclass(frozen=True)
class EtlFormat:
    """One ETL file format: record layout, image geometry and how its character codes read."""

    name: str
    record_size: int
    struct_format: str  # the same layout in `struct` notation, as AIST's sheets are usually quoted
    dtype: np.dtype  # structured, big-endian; the image is the uint8 subarray field "image"
    width: int
    height: int
    bits: int
    dummy_first_record: bool  # B types start every file with one record that holds no sample
    code_kind: str  # "jis0208", "jis0201" or "jis0201_hiragana"
    file_pattern: str  # regular expression a data file's name matches in full
    file_examples: tuple[str, ...]  # names to show in "no files found" messages

    @property
    def image_bytes(self) -> int:
        return self.width * self.height * self.bits // 8

    @property
    def image_offset(self) -> int:
        return self.dtype.fields["image"][1]

    @property
    def max_value(self) -> int:
        return (1 << self.bits) - 1

    @property
    def meta_names(self) -> tuple[str, ...]:
        """Every field except the image, in file order (padding included)."""
        return tuple(n for n in self.dtype.names if n != "image")

    def matches(self, file_name: str) -> bool:
        return re.fullmatch(self.file_pattern, file_name) is not None


@dataclass
class EtlRecords:
    """Samples of one or more ETL files, as parallel arrays.

    ``images`` hold the raw levels 0 .. 2**bits - 1 with ink high. ``meta`` is the structured array
    of every non-image field (padding included) so :func:`neta.hiragana.etl.writer.write_etl_file` can put
    the records back byte for byte; ``dummy`` is the raw first record of B-type files (empty when the
    records came from several files or were built in memory).
    """

    codes: np.ndarray  # (N,) uint16
    chars: np.ndarray  # (N,) str
    writers: np.ndarray  # (N,) int32
    images: np.ndarray  # (N, H, W) uint8
    meta: np.ndarray  # (N,) structured
    dummy: bytes = b""
    files: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def take(self, index) -> EtlRecords:
        return EtlRecords(
            codes=self.codes[index],
            chars=self.chars[index],
            writers=self.writers[index],
            images=self.images[index],
            meta=self.meta[index],
            dummy=self.dummy,
            files=list(self.files),
        )


def _make(name, fields, *, pads, record_size, struct_format, width, height, bits, dummy, code_kind, pattern, examples):
    """Build the structured dtype; `pads` maps an insert position to the byte count of undefined space."""
    image_bytes = width * height * bits // 8
    layout: list[tuple] = list(fields)
    pad_before_image, pad_after_image = pads
    if pad_before_image:
        layout.append(("_undefined0", f"V{pad_before_image}"))
    layout.append(("image", "u1", (image_bytes,)))
    if pad_after_image:
        layout.append(("_undefined1", f"V{pad_after_image}"))
    dtype = np.dtype(layout)
    # The two descriptions of the layout must agree, or one of them is wrong.
    assert dtype.itemsize == record_size == struct.calcsize(struct_format), (name, dtype.itemsize)
    return EtlFormat(
        name=name,
        record_size=record_size,
        struct_format=struct_format,
        dtype=dtype,
        width=width,
        height=height,
        bits=bits,
        dummy_first_record=dummy,
        code_kind=code_kind,
        file_pattern=pattern,
        file_examples=examples,
    )


def _formats() -> dict[str, EtlFormat]:
    common_g = dict(record_size=8199, width=128, height=127, bits=4, dummy=False, code_kind="jis0208")
    common_b = dict(width=64, height=63, bits=1, dummy=True, code_kind="jis0208")
    common_m = dict(record_size=2052, struct_format=">H2sH6BI4H4B4x2016s4x", width=64, height=63, bits=4, dummy=False)
    b_fields = [("sheet", ">u2"), ("code", ">u2"), ("reading", "S4")]
    table = [
        _make(
            "ETL8G",
            _G_FIELDS,
            pads=(30, 11),
            struct_format=">2H8sI4B4H2B30x8128s11x",
            pattern=r"ETL8G_\d+",
            examples=("ETL8G_01", "ETL8G_02", "..."),
            **common_g,
        ),
        _make(
            "ETL9G",
            _G_FIELDS,
            pads=(34, 7),
            struct_format=">2H8sI4B4H2B34x8128s7x",
            pattern=r"ETL9G_\d+",
            examples=("ETL9G_01", "ETL9G_02", "..."),
            **common_g,
        ),
        _make(
            "ETL8B2",
            b_fields,
            pads=(0, 0),
            record_size=512,
            struct_format=">2H4s504s",
            pattern=r"ETL8B2C\d+",
            examples=("ETL8B2C1", "ETL8B2C2", "ETL8B2C3"),
            **common_b,
        ),
        _make(
            "ETL9B",
            b_fields,
            pads=(0, 64),
            record_size=576,
            struct_format=">2H4s504s64x",
            pattern=r"ETL9B_\d+",
            examples=("ETL9B_1", "ETL9B_2", "..."),
            **common_b,
        ),
        _make(
            "ETL1",
            _M_FIELDS,
            pads=(4, 4),
            code_kind="jis0201",
            pattern=r"ETL1C_\d+",
            examples=("ETL1C_01", "ETL1C_02", "..."),
            **common_m,
        ),
        _make(
            "ETL6",
            _M_FIELDS,
            pads=(4, 4),
            code_kind="jis0201",
            pattern=r"ETL6C_\d+",
            examples=("ETL6C_01", "ETL6C_02", "..."),
            **common_m,
        ),
        _make(
            "ETL7",
            _M_FIELDS,
            pads=(4, 4),
            code_kind="jis0201_hiragana",
            pattern=r"ETL7[LS]C_\d+",
            examples=("ETL7LC_1", "ETL7SC_1", "..."),
            **common_m,
        ),
    ]
    return {fmt.name: fmt for fmt in table}


def known_formats() -> list[str]:
    return list(_formats())


def get_format(name: str) -> EtlFormat:
    """The format called `name` (case-insensitive), or a NetaError listing the known ones."""
    formats = _formats()
    fmt = formats.get(str(name).upper())
    if fmt is None:
        raise NetaError(f"unknown ETL format {name!r}; known formats: {', '.join(formats)}")
    return fmt
