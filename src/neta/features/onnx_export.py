"""The backbone exported once to ONNX for onnxruntime, checked against torch before it is kept.

The file is ``<onnx_dir>/<backbone>-<layer>-<first 8 hex digits of the weights' sha256>.onnx``: other
weights or another layer make another file, the same ones reuse it. It is written atomically and only
after onnxruntime's output on a fixed test batch agrees with the torch module's within
``ONNX_TOLERANCE``, so a file in the folder is always one that was checked.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from torch import nn

from neta.atomic import atomic_path
from neta.errors import NetaError
from neta.features.backbones import ExtractorInfo

log = logging.getLogger(__name__)

# max |onnx - torch| / max |torch| on the test batch; float32 kernels differ by ~1e-6 of that
ONNX_TOLERANCE = 1e-4
INPUT, OUTPUT = "images", "features"
# The exporter's own packages log every graph pass at INFO: hundreds of lines in a stage's log
_EXPORTER_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx", "torch.export")


def onnx_path(onnx_dir: str | os.PathLike, info: ExtractorInfo) -> Path:
    return Path(onnx_dir) / f"{info.backbone}-{info.layer}-{info.weights_sha256[:8]}.onnx"


def open_session(path: Path, *, threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, threads)  # the rule's threads:, as torch.set_num_threads
    options.inter_op_num_threads = 1
    # idle threads sleep instead of spinning, leaving the cores to the decoding workers and to other jobs
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for a damaged file
        raise NetaError(f"{path}: onnxruntime cannot load it ({exc}); delete it and it is exported again") from exc


def onnx_session(module: nn.Module, info: ExtractorInfo, onnx_dir: str | os.PathLike, *,
                 threads: int) -> onnxruntime.InferenceSession:
    """A session on the checked ONNX file of ``module`` (uint8 batches in), exported first if it is not there."""
    path = onnx_path(onnx_dir, info)
    if path.is_file():
        session = open_session(path, threads=threads)
        if _fits(session, info):
            log.info("onnx: reusing %s", path)
            return session
        log.warning("onnx: %s does not take uint8 batches to %d values (an older export); exporting again",
                    path, info.dim)
    started = time.perf_counter()
    # random pixels: the module takes uint8 crops (it normalises them itself)
    test_batch = torch.randint(0, 256, (2, 3, info.input_size, info.input_size), dtype=torch.uint8,
                               generator=torch.Generator().manual_seed(0))
    with atomic_path(path) as tmp, _quiet_exporter():
        torch.onnx.export(module, (test_batch,), tmp, dynamo=True, external_data=False, verbose=False,
                          input_names=[INPUT], output_names=[OUTPUT],
                          dynamic_shapes=({0: torch.export.Dim("batch")},))
        session = open_session(tmp, threads=threads)  # the whole model is read: the file may be renamed
        error = _relative_error(module, session, test_batch)
        if not error <= ONNX_TOLERANCE:
            raise NetaError(f"onnx export of {info.backbone} {info.layer}: onnxruntime differs from torch by "
                            f"{error:.2e} (relative) > {ONNX_TOLERANCE:.0e} on the test batch; use backend torch")
    log.info("onnx: exported %s in %.1f s; matches torch to %.1e (relative, tolerance %.0e)", path,
             time.perf_counter() - started, error, ONNX_TOLERANCE)
    return session


def _fits(session: onnxruntime.InferenceSession, info: ExtractorInfo) -> bool:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    return ([i.name for i in inputs], [o.name for o in outputs]) == ([INPUT], [OUTPUT]) and \
        inputs[0].type == "tensor(uint8)" and outputs[0].shape[-1] == info.dim


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _EXPORTER_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _relative_error(module: nn.Module, session: onnxruntime.InferenceSession, batch: torch.Tensor) -> float:
    with torch.inference_mode():
        expected = module(batch).numpy()
    found = session.run([OUTPUT], {INPUT: batch.numpy()})[0]
    return float(np.abs(found - expected).max() / max(np.abs(expected).max(), 1e-12))
