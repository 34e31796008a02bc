"""Feature vectors of the downloaded bokete photos through real snakemake runs, one job or three."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.integration


def read_features(path):
    with h5py.File(path, "r") as handle:
        return handle["features"][()], handle["image_ids"].asstr()[()], dict(handle.attrs)


def test_features_of_every_downloaded_photo_in_manifest_order(finished_workflow):
    flow = finished_workflow
    bokete = flow.root / "results" / "bokete"
    features, ids, attrs = read_features(bokete / "features.h5")
    manifest = pd.read_csv(bokete / "images" / "manifest.csv", dtype=str)
    ok = manifest[manifest["status"] == "ok"]
    assert list(ids) == list(ok["sha256"])
    assert features.shape == (len(ok), 1280) and features.dtype == np.float32  # mobilenet_v2, pooled
    assert np.isfinite(features).all() and (np.linalg.norm(features, axis=1) > 0).all()
    assert attrs["backbone"] == "mobilenet_v2" and attrs["layer"] == "pooled"
    assert not list((bokete / "features_shards").glob("*.h5")), "shards are temporary"


def test_three_shards_merge_into_the_same_file_as_one(finished_workflow):
    flow = finished_workflow
    path = flow.root / "results" / "bokete" / "features.h5"
    one, one_ids, one_attrs = read_features(path)
    saved = flow.config()
    config = flow.config()
    config.setdefault("features", {}).update(shards=3, batch_size=4)
    # The finished run is put back as it was afterwards: rebuilding all the features feed took a minute.
    kept = ["results/bokete/features.h5", "results/logs/merge_features.log", "results/benchmarks/merge_features.tsv",
            "results/logs/extract_features", "results/benchmarks/extract_features", ".snakemake/metadata"]
    with flow.kept_as_it_was(*kept):
        try:
            flow.write_config(config)
            assert flow.planned_jobs("results/bokete/features.h5") == {"extract_features": 3, "merge_features": 1}
            flow.snakemake("results/bokete/features.h5")
            three, three_ids, three_attrs = read_features(path)
            config["features"]["shards"] = 1
            flow.write_config(config)
            flow.snakemake("results/bokete/features.h5")
            again, again_ids, _ = read_features(path)
        finally:
            flow.write_config(saved)
    assert flow.planned_jobs() == {}
    assert list(three_ids) == list(again_ids) == list(one_ids)
    assert np.array_equal(three, again), "three shards must give the bytes one job gives"
    assert np.allclose(three, one, atol=1e-4)  # another batch size: the same vectors up to rounding
