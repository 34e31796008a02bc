"""ETL files -> ``etl_28.h5``: small ink-high images of the hiragana classes, split by writer.

Each record is normalised by :func:`neta.hiragana.normalise.normalise_records` (``hiragana.normalise``:
cropped to its ink and framed as a picture is, or the seed's whole-cell resize).
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from neta.diskspace import estimate, require_free_space
from neta.errors import NetaError
from neta.h5io import hash_inputs, write_h5
from neta.hiragana.etl.formats import get_format
from neta.hiragana.etl.jis import hiragana_classes
from neta.hiragana.etl.reader import list_etl_files, read_etl_dir
from neta.hiragana.normalise import normalise_records

log = logging.getLogger(__name__)

def split_by_writer(writers: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(split per record: 0 train / 1 test, test writer ids); every writer lies on one side only.

    ``test_fraction`` is ``hiragana.split.test_fraction``, which the config schema keeps strictly
    between 0 and 1; either side gets at least one writer whatever it is.
    """
    distinct = np.unique(writers)
    if distinct.size < 2:
        raise NetaError(
            f"a writer-disjoint split needs at least 2 writers, the data has {distinct.size}; "
            "synthesise or supply more writers"
        )
    n_test = int(np.clip(round(test_fraction * distinct.size), 1, distinct.size - 1))
    rng = np.random.default_rng(seed)
    test_writers = np.sort(rng.permutation(distinct)[:n_test])
    split = np.isin(writers, test_writers).astype(np.uint8)
    return split, test_writers


def convert_etl(
    input_dir: str | os.PathLike,
    fmt_name: str,
    out_path: str | os.PathLike,
    *,
    size: int,
    classes: int,
    test_fraction: float,
    seed: int,
    normalise: str,
    workers: int = 1,
) -> dict:
    """Read the hiragana of every `fmt_name` file in `input_dir` and write `out_path` (HDF5).

    Datasets: /images (N,size,size) uint8 ink high, /labels (N,) int16 into /classes, /writers (N,)
    int32, /classes (C,) str, /split (N,) uint8 (0 train, 1 test, by writer), /codes (N,) uint16.
    ``normalise`` is ``hiragana.normalise`` (see :mod:`neta.hiragana.normalise`); ``workers``
    processes share it (speed only).
    """
    started = time.perf_counter()
    fmt = get_format(fmt_name)
    class_list = hiragana_classes(classes)
    # Hashing every input for the provenance costs as much as converting them; hashlib releases
    # the GIL, so a second thread does it on the other core while this one reads and downscales.
    with ThreadPoolExecutor(max_workers=1) as pool:
        input_hashes = pool.submit(hash_inputs, list_etl_files(input_dir, fmt))
        records = read_etl_dir(input_dir, fmt, class_list)
        if len(records) == 0:
            raise NetaError(
                f"{input_dir}: the {fmt.name} files hold none of the {classes} hiragana classes; "
                "use a hiragana-bearing format (ETL8G, ETL8B2, ETL9G, ETL9B, ETL7)"
            )
        read_s = time.perf_counter() - started
        # a record: its image, label (2 bytes), writer (4), split (1) and code (2), uncompressed (gzip
        # makes the images about 3 times smaller: an upper bound, refusing before the normalising)
        require_free_space(out_path, estimate(len(records), size * size + 2 + 4 + 1 + 2),
                           f"{len(records)} {size}x{size} images")

        order = np.argsort(np.asarray(class_list))
        labels = order[np.searchsorted(np.asarray(class_list), records.chars, sorter=order)].astype(np.int16)
        counts = np.bincount(labels, minlength=len(class_list))
        missing = [c for c, k in zip(class_list, counts, strict=True) if k == 0]
        if missing:
            log.warning("%d of %d classes have no records: %s", len(missing), len(class_list), "".join(missing))

        names = [f"{fmt.name} record {i} (writer {w}, {c})" for i, (w, c) in
                 enumerate(zip(records.writers.tolist(), records.chars, strict=True))]
        images = normalise_records(records.images, fmt.bits, size, normalise, names=names, workers=workers)
        split, test_writers = split_by_writer(records.writers, test_fraction, seed)
        n_writers = int(np.unique(records.writers).size)

        params = {"format": fmt.name, "size": size, "classes": classes, "test_fraction": test_fraction,
                  "seed": seed, "normalise": normalise}
        write_h5(
            out_path,
            {
                "images": images,
                "labels": labels,
                "writers": records.writers.astype(np.int32),
                "classes": np.asarray(class_list, dtype=str),
                "split": split,
                "codes": records.codes.astype(np.uint16),
            },
            stage="convert_etl",
            params=params,
            inputs=input_hashes.result(),
            attrs={
                "format": fmt.name,
                "size": size,
                "normalise": normalise,
                "n_classes": len(class_list),
                "n_writers_train": n_writers - len(test_writers),
                "n_writers_test": len(test_writers),
            },
            dataset_attrs={
                "images": {
                    "description": f"ink high 0..255 from {fmt.width}x{fmt.height} {fmt.bits}-bit ({normalise})"
                },
                "labels": {"description": "index into /classes"},
                "writers": {"description": "serial sheet number of the ETL record (one writer)"},
                "split": {"description": "0 = train, 1 = test; split by writer, no writer on both sides"},
                "codes": {"description": f"character code as stored in the file ({fmt.code_kind})"},
            },
        )
    seconds = time.perf_counter() - started
    summary = {
        "out": str(out_path),
        "format": fmt.name,
        "files": len(records.files),
        "records": len(records),
        "train": int((split == 0).sum()),
        "test": int((split == 1).sum()),
        "classes": len(class_list),
        "empty_classes": missing,
        "writers_train": n_writers - len(test_writers),
        "writers_test": len(test_writers),
        "seconds": round(seconds, 3),
    }
    log.info(
        "convert_etl: %d %s files -> %s: %d records (%d train / %d test), %d+%d writers, read %.2f s, total %.2f s",
        len(records.files),
        fmt.name,
        Path(out_path),
        len(records),
        summary["train"],
        summary["test"],
        summary["writers_train"],
        summary["writers_test"],
        read_s,
        seconds,
    )
    return summary
