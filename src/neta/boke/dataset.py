"""The captioner's data: caption sets of (feature vector, caption ids), and the features.h5 readers.

``features.h5`` (the features stage) gives each photo a vector; a caption set pairs each caption of
the caption table with the row of its photo's vector. Training, evaluation and the app read both here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from neta.boke.vocab import Vocabulary
from neta.errors import NetaError
from neta.h5io import read_h5

log = logging.getLogger(__name__)


class CaptionSet(Dataset):
    """(feature vector, caption ids) pairs; a caption is ``<bos> ... <eos>``.

    ``photo_index`` (optional) gives the feature row of each caption, so the many captions of one photo
    share its vector instead of copying it; without it, row i of ``features`` goes with caption i.
    ``weights`` (optional): how much each caption counts in the training loss (its stars); an item is
    then ``(vector, ids, weight)``.
    """

    def __init__(self, features: np.ndarray, captions: Sequence[Sequence[int]],
                 photo_index: Sequence[int] | None = None, weights: Sequence[float] | None = None) -> None:
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2:
            raise ValueError(f"features must be (N, D), got shape {features.shape}")
        rows = np.arange(len(captions)) if photo_index is None else np.asarray(photo_index, dtype=np.int64)
        if len(rows) != len(captions):
            raise ValueError(f"{len(captions)} captions but {len(rows)} feature rows")
        if len(rows) and (rows.min() < 0 or rows.max() >= features.shape[0]):
            raise ValueError(f"photo_index outside the {features.shape[0]} feature rows")
        short = [i for i, c in enumerate(captions) if len(c) < 2]
        if short:
            raise ValueError(f"captions {short[:5]} have fewer than 2 ids (<bos> and <eos>)")
        self.features = torch.from_numpy(features)
        self.rows = torch.from_numpy(rows)
        # One flat id array and offsets: a million small tensors would cost more than the ids themselves.
        self.offsets = np.concatenate([[0], np.cumsum([len(c) for c in captions], dtype=np.int64)])
        self.ids = torch.from_numpy(np.fromiter((t for c in captions for t in c), dtype=np.int64,
                                                count=int(self.offsets[-1])))
        self.weights = None if weights is None else torch.as_tensor(np.asarray(weights, dtype=np.float32))
        if self.weights is not None and len(self.weights) != len(captions):
            raise ValueError(f"{len(captions)} captions but {len(self.weights)} weights")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple:
        item = self.features[self.rows[i]], self.ids[self.offsets[i] : self.offsets[i + 1]]
        return item if self.weights is None else (*item, self.weights[i])



class _Batches(Dataset):
    """A caption set read a batch at a time: ``batches[indices]`` is ``features (B, D)``, ``captions (B, T)``
    padded with ``pad_id``, ``lengths (B,)`` (and ``weights (B,)`` of a weighted set), longest first,
    gathered from the flat id array with array operations, so an epoch makes a few objects a
    batch and none a caption (a public boke can holds a million captions)."""

    def __init__(self, data: CaptionSet, pad_id: int) -> None:
        self.data, self.pad_id = data, pad_id
        self.ids = data.ids.numpy()

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
        index = np.asarray(indices, dtype=np.int64)
        starts = self.data.offsets[index]
        lengths = self.data.offsets[index + 1] - starts
        order = np.argsort(-lengths, kind="stable")  # longest first, ties in batch order
        index, starts, lengths = index[order], starts[order], lengths[order]
        steps = np.arange(int(lengths[0]))
        inside = steps[None, :] < lengths[:, None]
        captions = np.full(inside.shape, self.pad_id, dtype=np.int64)
        captions[inside] = self.ids[(starts[:, None] + steps[None, :])[inside]]
        batch = (self.data.features[self.data.rows[torch.from_numpy(index)]], torch.from_numpy(captions),
                 torch.from_numpy(lengths))
        return batch if self.data.weights is None else (*batch, self.data.weights[torch.from_numpy(index)])


def caption_loader(data: CaptionSet, *, batch_size: int, pad_id: int, generator: torch.Generator | None) -> DataLoader:
    """Batches of :class:`_Batches`'s form; shuffled by ``generator`` (None: in order)."""
    order = RandomSampler(data, generator=generator) if generator is not None else SequentialSampler(data)
    # the loader draws its base seed from the generator first, as a shuffled DataLoader of items does
    return DataLoader(_Batches(data, pad_id), batch_size=None, sampler=BatchSampler(order, batch_size, False),
                      generator=generator)


# features.h5 attributes a checkpoint keeps, so new photos get vectors from the same network and weights
FEATURE_ATTRS = ("backbone", "layer", "dim", "weights", "weights_file", "weights_sha256", "input_size")



def read_caption_features(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, int], dict]:
    """(vectors, image_id -> row, what the vectors are) of a features.h5."""
    data, attrs = read_h5(path, ["features", "image_ids"])
    missing = [key for key in FEATURE_ATTRS if key not in attrs]
    if missing:
        raise NetaError(f"{path}: lacks the attributes {missing} of the features stage; rebuild it with "
                        "`neta features`")
    rows = {image_id: row for row, image_id in enumerate(data["image_ids"])}
    return data["features"].astype(np.float32), rows, {key: attrs[key] for key in FEATURE_ATTRS}



def with_features(frame, rows: dict[str, int], what: str):
    """The rows of ``frame`` whose photo has a vector; the others are counted in the log."""
    has = frame["image_id"].isin(rows.keys())
    if not has.all():
        log.warning("%s: %d captions of %d photos dropped: their photo has no feature vector (not decoded)",
                    what, int((~has).sum()), frame.loc[~has, "image_id"].nunique())
    return frame[has], int((~has).sum())



def caption_set(frame, vocab: Vocabulary, features: np.ndarray, rows: dict[str, int],
                weights: Sequence[float] | None = None) -> CaptionSet:
    # a row index a caption, not a copy of the vector: a photo of a can has hundreds of bokes
    index = [rows[image_id] for image_id in frame["image_id"]]
    return CaptionSet(features, [vocab.encode(tokens.split()) for tokens in frame["tokens"]], photo_index=index,
                      weights=weights)


def check_features(feature_info: dict, checkpoint: dict, source: str) -> None:
    trained = checkpoint["features"]
    differing = [key for key in ("backbone", "layer", "weights_sha256", "dim") if trained[key] != feature_info[key]]
    if differing:
        raise NetaError(f"{source}: its vectors are not the ones the model was trained on ({', '.join(differing)}: "
                        f"{[feature_info[k] for k in differing]} vs {[trained[k] for k in differing]}); extract "
                        "them with the checkpoint's backbone and weights")
