"""The parsed-page store and crawl journal: re-crawls reuse parses, and never trust what they should not."""

import functools
import importlib.util
import sqlite3
import sys

import pytest
import requests_cache

from http_fixtures import build_tiny_site, tiny_page, tiny_parse
from neta.scrape.crawl import run_scrape
from neta.scrape.pagestore import page_from_json, page_store_path, page_to_json, parser_key
from neta.scrape.records import Boke, ParsedPage

SITE = "http://site.test"
PAGES = 6  # 12 pages: 6 lists + 6 odai pages


class CountingParser:
    """Counts calls; ``__wrapped__`` makes the parser key that of the wrapped parser."""

    def __init__(self, parse=tiny_parse):
        self.__wrapped__ = parse
        self.urls = []

    def __call__(self, text, url):
        self.urls.append(url)
        return self.__wrapped__(text, url)


def scrape(server, tmp_path, parse, out="bokes.csv"):
    return run_scrape([SITE + "/list?page=1"], tmp_path / out, base_origin_map={SITE: server.origin},
                      user_agent="neta/0.1", contact="tests@example.invalid", cache_path=tmp_path / "http.sqlite",
                      rate_limit=0, allowed_hosts=["site.test"], max_pages=None, max_bokes=None, min_stars=0,
                      max_failure_ratio=0.0, parse=parse, retries=1, backoff=0.05, timeout=(2, 2), progress=False)


def test_recrawl_with_unchanged_parser_parses_nothing_and_writes_the_same_csv(http_server, tmp_path):
    build_tiny_site(http_server, pages=PAGES)
    first_parser = CountingParser()
    first = scrape(http_server, tmp_path, first_parser, "first.csv")
    assert len(first_parser.urls) == first["pages_fetched"] == first["parsed"] == 2 * PAGES
    assert page_store_path(tmp_path / "http.sqlite") == tmp_path / "http.parsed.sqlite"
    assert (tmp_path / "http.parsed.sqlite").is_file()
    requests_before = len(http_server.requests)

    again_parser = CountingParser()
    again = scrape(http_server, tmp_path, again_parser, "again.csv")
    assert again_parser.urls == []
    assert again["journal_hits"] == again["parse_reused"] == again["from_cache"] == 2 * PAGES
    assert again["network_requests"] == 0 and len(http_server.requests) == requests_before
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "first.csv").read_bytes()


def load_parser_package(tmp_path, name):
    package = tmp_path / name
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("from http_fixtures import tiny_parse\n\n\n"
                                         "def parse(text, url):\n    return tiny_parse(text, url)\n")
    spec = importlib.util.spec_from_file_location(name, package / "__init__.py",
                                                  submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module, package / "__init__.py"


def test_editing_the_parser_reparses_from_the_http_cache_without_requests(http_server, tmp_path):
    build_tiny_site(http_server, pages=PAGES)
    module, source = load_parser_package(tmp_path, "neta_test_edited_parser")
    try:
        scrape(http_server, tmp_path, CountingParser(module.parse), "first.csv")
        key_before = parser_key(module.parse)
        requests_before = len(http_server.requests)
        source.write_text(source.read_text() + "# a fix to the parser\n")
        assert parser_key(module.parse) != key_before

        edited = CountingParser(module.parse)
        summary = scrape(http_server, tmp_path, edited, "edited.csv")
        assert len(edited.urls) == summary["parsed"] == 2 * PAGES and summary["parse_reused"] == 0
        assert summary["from_cache"] == 2 * PAGES
        assert summary["network_requests"] == 0 and len(http_server.requests) == requests_before
        assert (tmp_path / "edited.csv").read_bytes() == (tmp_path / "first.csv").read_bytes()

        unchanged = CountingParser(module.parse)
        assert scrape(http_server, tmp_path, unchanged, "third.csv")["journal_hits"] == 2 * PAGES
        assert unchanged.urls == []
    finally:
        sys.modules.pop("neta_test_edited_parser", None)


def test_corrupt_and_foreign_rows_are_ignored_and_replaced(http_server, tmp_path):
    build_tiny_site(http_server, pages=PAGES)
    scrape(http_server, tmp_path, CountingParser(), "first.csv")
    damaged = {SITE + "/odai/1": "not json at all",
               SITE + "/odai/2": '{"layout": "tiny", "links": []}',
               SITE + "/odai/3": page_to_json(ParsedPage("tiny", [], [])).replace('"bokes":[]', '"bokes":[["x"]]'),
               SITE + "/list?page=2": page_to_json(ParsedPage("tiny", [Boke(1, 1, "t", 5, None, "", None, "u", "l")],
                                                              [])).replace("5,null", '"5",null')}
    with sqlite3.connect(tmp_path / "http.parsed.sqlite") as db:
        for url, text in damaged.items():
            assert db.execute("UPDATE parsed SET page = ? WHERE url = ?", (text, url)).rowcount == 1
        # a row of another parser for a page we crawl, and rows for URLs we never ask for
        db.execute("INSERT INTO parsed VALUES (?, ?, ?, ?)", (SITE + "/odai/4", "0" * 64, "other", "{}"))
        db.execute("INSERT INTO journal VALUES (?, ?, ?, ?, ?)", (SITE + "/odai/5", "other", "k", "e", "b"))
        db.execute("INSERT INTO journal VALUES (?, ?, ?, ?, ?)", (SITE + "/nowhere", "x", "k", "e", "b"))

    parser = CountingParser()
    summary = scrape(http_server, tmp_path, parser, "again.csv")
    assert sorted(parser.urls) == sorted(damaged)
    assert summary["network_requests"] == 0
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "first.csv").read_bytes()

    repaired = CountingParser()
    assert scrape(http_server, tmp_path, repaired, "third.csv")["journal_hits"] == 2 * PAGES
    assert repaired.urls == []


def test_journal_is_not_trusted_once_the_http_cache_entry_is_gone(http_server, tmp_path):
    build_tiny_site(http_server, pages=PAGES)
    scrape(http_server, tmp_path, CountingParser(), "first.csv")
    cache = requests_cache.SQLiteCache(tmp_path / "http.sqlite")
    cache.delete(urls=[SITE + "/odai/2", SITE + "/odai/3"])
    # /odai/3 changed on the site meanwhile; /odai/2 did not
    http_server.page("/odai/3", tiny_page([(30, 3, 21, "ボケ30 です"), (99, 3, 44, "書き直したボケ")]))
    requests_before = len(http_server.requests)

    parser = CountingParser()
    summary = scrape(http_server, tmp_path, parser, "again.csv")
    assert http_server.requests[requests_before:] == ["/odai/2", "/odai/3"]
    assert parser.urls == [SITE + "/odai/3"]  # /odai/2 came back byte-identical: its parse is reused
    assert summary["journal_hits"] == 2 * PAGES - 2 and summary["parse_reused"] == 2 * PAGES - 1
    first_rows = (tmp_path / "first.csv").read_text(encoding="utf-8").splitlines()
    again_rows = (tmp_path / "again.csv").read_text(encoding="utf-8").splitlines()
    assert sorted(set(again_rows) - set(first_rows)) == [f"99,3,書き直したボケ,44,,,,{SITE}/odai/3,tiny"]
    assert set(first_rows) <= set(again_rows)


def test_page_json_round_trip_and_rejections():
    bokes = [Boke(1, 2, "ボケ \"引用\"", 1234, None, "http://x.test/a.jpg", None, "http://x.test/", "n"),
             Boke(3, 2, "", 0, 7, "", "2020-01-02T03:04:05+09:00", "http://x.test/", "n")]
    page = ParsedPage("nextjs", bokes, ["http://x.test/odai/2", "http://x.test/?page=2"])
    assert page_from_json(page_to_json(page)) == page
    for text in ("", "[]", "null", '{"layout": "x"}', page_to_json(page).replace("1234", "true"),
                 page_to_json(page).replace('"votes"', '"likes"'), page_to_json(page).replace("1234", "12.5")):
        with pytest.raises(ValueError):
            page_from_json(text)


def test_parser_key_follows_wrappers_and_partial_arguments():
    assert parser_key(tiny_parse) == parser_key(CountingParser(tiny_parse))
    assert parser_key(tiny_parse) != parser_key(CountingParser(tiny_page))
    first, second = functools.partial(tiny_parse, url="a"), functools.partial(tiny_parse, url="b")
    assert parser_key(first) != parser_key(second)
    assert parser_key(first) == parser_key(functools.partial(tiny_parse, url="a"))
    assert parser_key(len) is None  # a builtin has no source file: nothing is stored


def test_a_store_file_that_is_not_a_database_only_costs_the_reuse(http_server, tmp_path, caplog):
    build_tiny_site(http_server, pages=2)
    (tmp_path / "http.parsed.sqlite").write_bytes(b"this is not an SQLite database" * 100)
    parser = CountingParser()
    summary = scrape(http_server, tmp_path, parser)
    assert len(parser.urls) == summary["pages_fetched"] == 4 and summary["bokes_kept"] > 0
    assert "http.parsed.sqlite unusable" in caplog.text
