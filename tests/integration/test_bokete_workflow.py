"""The bokete path through real snakemake runs: snapshot → crawl → image downloads."""

from __future__ import annotations

import pandas as pd
import pytest

from neta.boke.site.records import BOKE_COLUMNS

pytestmark = pytest.mark.integration

TARGETS = ("results/bokete/bokes.csv", "results/bokete/images/manifest.csv")


def test_crawl_and_download_the_offline_snapshot(workflow_copy):
    flow = workflow_copy
    assert flow.planned_jobs(*TARGETS) == {
        "bokete_snapshot": 1,
        "scrape_bokete": 1,
        "download_bokete_images": 1,
    }
    flow.snakemake(*TARGETS)

    bokete = flow.root / "results" / "bokete"
    bokes = pd.read_csv(bokete / "bokes.csv", dtype={"text": str})
    assert list(bokes.columns) == BOKE_COLUMNS
    assert len(bokes) >= 150 and bokes["boke_id"].is_unique
    assert bokes["odai_id"].nunique() >= 12
    assert set(bokes["layout"]) <= {"nextjs", "classic2016", "xhtml2013"}
    assert bokes["image_url"].str.startswith("http://snapshot.bokete.test/").all()

    manifest = pd.read_csv(bokete / "images" / "manifest.csv")
    assert set(manifest["url"]) == set(bokes["image_url"])
    assert (manifest["status"] == "ok").all()
    for row in manifest.itertuples():
        assert (bokete / "images" / row.path).stat().st_size == row.bytes
    log = (flow.root / "results" / "logs" / "scrape_bokete.log").read_text(encoding="utf-8")
    assert "items_kept" in log

    assert flow.planned_jobs(*TARGETS) == {}

    # A crawl limit is a param of the crawl only: the snapshot is not rebuilt.
    config = flow.config()
    config["bokete"]["min_stars"] = 10
    flow.write_config(config)
    assert flow.planned_jobs(*TARGETS) == {"scrape_bokete": 1, "download_bokete_images": 1}
    flow.snakemake(*TARGETS)
    filtered = pd.read_csv(bokete / "bokes.csv")
    assert 0 < len(filtered) < len(bokes) and (filtered["stars"] >= 10).all()

    # Editing a parser reruns the crawl (from the HTTP cache) and the downloads, nothing else.
    # (Snakemake ignores a bare `touch`: it compares the checksum of small inputs.)
    parser = flow.root / "src" / "neta" / "boke" / "site" / "nextjs.py"
    with parser.open("a", encoding="utf-8") as handle:
        handle.write("\n# edited by the test\n")
    assert flow.planned_jobs(*TARGETS) == {"scrape_bokete": 1, "download_bokete_images": 1}


def test_live_base_url_needs_no_snapshot(workflow_copy):
    flow = workflow_copy
    config = flow.config()
    config["bokete"]["base_url"] = "https://bokete.jp"
    flow.write_config(config)
    planned = flow.planned_jobs(*TARGETS)
    assert "bokete_snapshot" not in planned and planned["scrape_bokete"] == 1
