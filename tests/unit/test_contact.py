"""A live crawl or download refuses a contact that reaches no one; the offline snapshot does not care."""

import pytest
from http_fixtures import Reply

from neta.boke.site.adapter import bokete_adapter
from neta.errors import NetaError
from neta.images import ImageLimits
from neta.scrape.contact import check_live_contact
from neta.scrape.crawl import run_scrape
from neta.scrape.download import run_download
from neta.scrape.session import make_session

PLACEHOLDER = "set-your-email@example.invalid"  # the default config's


@pytest.mark.parametrize("contact", ["crawler@uni-tokyo.ac.jp", "Jane.Doe+neta@gmail.com",
                                     "https://github.com/someone/neta", "http://someone.dev/crawler",
                                     "Pat O'Neil <pat@oneil.ie>"])
def test_real_addresses_and_urls_pass(contact):
    check_live_contact(contact, site="bokete")


@pytest.mark.parametrize(("contact", "why"), [
    (PLACEHOLDER, "reserved domain"),
    ("me@example.com", "reserved domain"),
    ("me@mail.example.org", "reserved domain"),
    ("https://example.net/about", "reserved domain"),
    ("me@example.jp", "reserved domain"),
    ("Pat O'Neil <pat@example.org>", "reserved domain"),
    ("crawler@host.test", "reserved domain"),
    ("https://neta.invalid/", "reserved domain"),
    ("Jane Doe", "neither an e-mail address nor an http"),
    ("ftp://files.uni.edu/", "neither an e-mail address nor an http"),
    ("me@localhost", "neither an e-mail address nor an http"),
    ("", "is empty"),
])
def test_placeholders_and_non_addresses_are_refused_naming_the_key(contact, why):
    with pytest.raises(NetaError, match=why) as caught:
        check_live_contact(contact, site="dodo")
    message = str(caught.value)
    assert "dodo.contact" in message and "config.yaml" in message and "e-mail address" in message


def test_live_session_refuses_the_placeholder_and_the_snapshot_accepts_it():
    with pytest.raises(NetaError, match=r"bokete\.contact"):
        make_session(user_agent="neta/0.1", contact=PLACEHOLDER, cache_path=None, site="bokete")
    session = make_session(user_agent="neta/0.1", contact=PLACEHOLDER, cache_path=None,
                           origin_map={"http://snapshot.bokete.test": "http://127.0.0.1:9"})
    session.close()


def test_live_crawl_and_download_stop_before_any_request(http_server, tmp_path):
    http_server.route("/robots.txt", Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"))
    live = dict(base_origin_map=None, user_agent="neta/0.1", contact=PLACEHOLDER, cache_path=tmp_path / "c.sqlite",
                rate_limit=0, max_failure_ratio=0.1, progress=False)
    with pytest.raises(NetaError, match=r"bokete\.contact"):
        run_scrape([http_server.origin + "/"], tmp_path / "bokes.csv", adapter=bokete_adapter(min_stars=0),
                   allowed_hosts=None, max_pages=1, max_items=None, **live)
    with pytest.raises(NetaError, match=r"bokete\.contact"):
        run_download([http_server.origin + "/a.jpg"], tmp_path / "img", tmp_path / "img" / "manifest.csv",
                     site="bokete", limits=ImageLimits(max_pixels=50_000_000, max_side=20_000), **live)
    assert http_server.requests == []
    assert not (tmp_path / "bokes.csv").exists() and not (tmp_path / "img" / "manifest.csv").exists()
