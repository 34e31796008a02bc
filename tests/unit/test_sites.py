"""Where a crawl goes: start-path ranges, the live origin, the served snapshot."""

from __future__ import annotations

import pytest
import requests

from neta.boke.snapshot.build import build_bokete_snapshot
from neta.errors import NetaError
from neta.scrape.sites import expand_start_paths, open_site


def test_id_ranges_expand_in_order_without_repeats():
    assert expand_start_paths(["/boke/hot", "/odai/98..101", "/odai/100"]) == [
        "/boke/hot", "/odai/98", "/odai/99", "/odai/100", "/odai/101",
    ]


@pytest.mark.parametrize("bad", ["/odai/10..9", "/odai/1..200000"])
def test_bad_ranges_name_the_path(bad):
    with pytest.raises(NetaError, match=bad.replace(".", r"\.")):
        expand_start_paths([bad])


def test_live_site_records_its_own_origin():
    with open_site("bokete", base_url="https://bokete.jp/") as site:
        assert site.origin == "https://bokete.jp" and site.origin_map == {} and not site.snapshot
        assert site.url("/boke/hot") == "https://bokete.jp/boke/hot"
        assert site.allowed_hosts(["cdn.example"]) == ["bokete.jp", "cdn.example"]


def test_exactly_one_of_base_url_and_snapshot(tmp_path):
    with pytest.raises(NetaError, match="exactly one"):
        with open_site("bokete"):
            pass
    with pytest.raises(NetaError, match="not a site snapshot"):
        with open_site("bokete", snapshot_dir=tmp_path):
            pass


def test_snapshot_is_served_only_inside_the_block(tmp_path):
    build_bokete_snapshot(tmp_path / "site")
    with open_site("bokete", snapshot_dir=tmp_path / "site") as site:
        assert site.origin == "http://snapshot.bokete.test" and site.snapshot
        served = site.origin_map[site.origin]
        assert served.startswith("http://127.0.0.1:")
        assert requests.get(served + "/robots.txt", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(served + "/robots.txt", timeout=2)
