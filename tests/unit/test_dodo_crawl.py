"""The Dodo Pizza adapter through the generic crawl: links with request headers, the HTTP cache key,
the crawl's city scope on links and redirect hops, max_items counting pizzas with their photo."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
import requests
from http_fixtures import Reply

from neta.errors import NetaError
from neta.pizza.site.adapter import city_scope, dodo_adapter
from neta.scrape.crawl import crawl, run_scrape
from neta.scrape.fetch import OFF_SCOPE, polite_get
from neta.scrape.robots import RobotsPolicy
from neta.scrape.session import make_session

DATA = Path(__file__).resolve().parents[1] / "data" / "dodopizza"
SITE = "http://site.test"
XHR = {"X-Requested-With": "XMLHttpRequest"}


class HeaderSensitiveServer:
    """Answers the same URL with a fragment to scripts and a page to browsers, without ``Vary``: the
    cache must tell the two apart on its own."""

    def __init__(self):
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server naming)
                outer.hits += 1
                xhr = self.headers.get("X-Requested-With") == "XMLHttpRequest"
                body = (b"<div>fragment</div>" if xhr else b"<html>page</html>")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()


def _session(origin: str, cache: Path):
    return make_session(user_agent="neta/0.1", contact="tests@example.invalid", cache_path=cache, retries=1,
                        backoff=0.05, timeout=(2, 2), origin_map={SITE: origin})


@pytest.mark.parametrize("first_xhr", [True, False])
def test_a_fetch_with_the_xhr_header_and_a_plain_fetch_are_two_cache_entries(tmp_path, first_xhr):
    server = HeaderSensitiveServer()
    try:
        session = _session(server.origin, tmp_path / "http.sqlite")
        plain_key = session.cache.create_key(requests.Request("GET", SITE + "/p").prepare())

        def get(xhr: bool):
            result = polite_get(session, SITE + "/p", robots=None, allowed_hosts=["site.test"],
                                headers=XHR if xhr else None)
            return result.response.text, result.from_cache

        order = [first_xhr, not first_xhr]
        first = {xhr: get(xhr) for xhr in order}
        again = {xhr: get(xhr) for xhr in order}
        assert first == {True: ("<div>fragment</div>", False), False: ("<html>page</html>", False)}
        assert again == {True: ("<div>fragment</div>", True), False: ("<html>page</html>", True)}
        assert server.hits == 2
        # a request without the header keeps the key it had, so caches written before stay valid
        assert session.cache.create_key(requests.Request("GET", SITE + "/p").prepare()) == plain_key
        session.close()
    finally:
        server.close()


def test_polite_get_checks_every_redirect_hop_against_the_scope(http_server, tmp_path):
    http_server.route("/Kaliningrad/Product/a", Reply(status=302, headers={"Location": "/Moscow/Product/a"}))
    http_server.page("/Moscow/Product/a", "<html>elsewhere</html>")
    session = _session(http_server.origin, tmp_path / "http.sqlite")
    result = polite_get(session, SITE + "/Kaliningrad/Product/a", robots=None, allowed_hosts=["site.test"],
                        in_scope=city_scope([SITE + "/Kaliningrad"]))
    assert result.status == OFF_SCOPE and result.final_url == SITE + "/Moscow/Product/a"
    assert http_server.requests == ["/Kaliningrad/Product/a"]


def _popup(slug: str) -> str:
    fragment = (DATA / "popup_2017.html").read_text(encoding="utf-8")
    return fragment.replace("1c1f", slug)


def _dodo_site(server) -> None:
    """A 2017 Kaliningrad menu whose second pizza's popup redirects to Moscow, plus a block linking
    Moscow directly."""
    menu = (DATA / "menu_kaliningrad_2017.html").read_text(encoding="utf-8")
    moscow = ('<div class="prod_block"><h3 class="prod_header"><a href="/Moscow/Product/moscow-only">'
              '<span>Московская</span></a></h3><div class="prod_contains">Соус, сыр</div></div>')
    server.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /Cart/\n", content_type="text/plain"))
    server.page("/Kaliningrad", menu.replace('<div class="prod_pizzas">', '<div class="prod_pizzas">' + moscow))
    server.page("/Kaliningrad/Product/pizza-pepperoni", _popup("pepperoni"))
    server.route("/Kaliningrad/Product/crazy-pizza", Reply(status=302, headers={"Location": "/Moscow/Product/crazy"}))
    server.page("/Kaliningrad/Product/pizza-iz-polovinok", _popup("halves").replace("Пепперони", "Пицца из половинок"))
    server.page("/Moscow/Product/crazy", _popup("crazy"))
    server.page("/Moscow/Product/moscow-only", _popup("moscow"))


def _scrape(server, tmp_path, **overrides):
    start = [SITE + "/Kaliningrad"]
    options = dict(adapter=dodo_adapter(start_urls=start), base_origin_map={SITE: server.origin},
                   user_agent="neta/0.1", contact="tests@example.invalid", cache_path=tmp_path / "http.sqlite",
                   rate_limit=0, allowed_hosts=["site.test"], max_pages=None, max_items=None, max_failure_ratio=0.0,
                   retries=1, backoff=0.05, timeout=(2, 2), progress=False)
    return run_scrape(start, tmp_path / "menu.csv", **(options | overrides))


def test_the_crawl_fetches_popups_with_the_xhr_header_and_stays_in_its_city(http_server, tmp_path):
    _dodo_site(http_server)
    summary = _scrape(http_server, tmp_path)
    assert not any(path.startswith("/Moscow/") for path in http_server.requests)
    assert summary["off_scope"] == 2  # the Moscow link and the redirect to Moscow
    assert summary["failed"] == 0 and summary["pages_fetched"] == 3
    sent = dict(zip(http_server.requests, http_server.headers_seen, strict=True))
    assert "X-Requested-With" not in sent["/Kaliningrad"]
    assert sent["/Kaliningrad/Product/pizza-pepperoni"]["X-Requested-With"] == "XMLHttpRequest"
    menu = pd.read_csv(tmp_path / "menu.csv", dtype=str, keep_default_na=False).set_index("pizza_id")
    # a block of the Kaliningrad menu is kept even when its product lives in Moscow; its popup is not fetched
    assert sorted(menu.index) == ["crazy-pizza", "moscow-only", "pizza-iz-polovinok", "pizza-pepperoni"]
    assert tuple(menu.loc["moscow-only", ["city", "image_url"]]) == ("Moscow", "")
    assert menu.loc["pizza-pepperoni", "image_url"] == SITE + "/Img/Products/Pizza/ru-RU/pepperoni-top.jpg"
    assert menu.loc["pizza-pepperoni", "source_url"] == SITE + "/Kaliningrad/Product/pizza-pepperoni"
    # the pizza whose popup lay outside the scope keeps its menu record, without a photo
    assert menu.loc["crazy-pizza", "image_url"] == "" and menu.loc["crazy-pizza", "ingredients"].startswith("Томат")
    assert menu.loc["pizza-iz-polovinok", "custom"] == "True"


def test_max_items_counts_pizzas_with_their_photo(http_server, tmp_path):
    _dodo_site(http_server)
    summary = _scrape(http_server, tmp_path, max_items=1)
    assert summary["items_kept"] == 1 and summary["pages_fetched"] == 2  # the menu and one popup
    menu = pd.read_csv(tmp_path / "menu.csv", dtype=str, keep_default_na=False)
    assert menu["pizza_id"].tolist() == ["pizza-pepperoni"] and menu["image_url"][0].endswith("pepperoni-top.jpg")


def test_a_start_url_without_a_city_is_refused():
    with pytest.raises(NetaError, match=r"pizza.start_paths: http://site.test/ names no city"):
        dodo_adapter(start_urls=[SITE + "/Kaliningrad", SITE + "/"])
    in_scope = city_scope([SITE + "/Kaliningrad", SITE + "/moscow"])
    assert in_scope(SITE + "/kaliningrad/Product/x") and in_scope(SITE + "/Moscow")
    assert not in_scope(SITE + "/Syktyvkar") and not in_scope(SITE + "/")


def test_an_unreadable_card_and_a_menu_without_pizzas_are_recorded_and_the_crawl_goes_on(http_server, tmp_path):
    menu = (DATA / "menu_2023_small.html").read_text(encoding="utf-8")
    http_server.page("/moscow", menu)
    http_server.page("/spb", menu.replace("Пиццы", "Закуски"))
    start = [SITE + "/moscow", SITE + "/spb"]
    session = _session(http_server.origin, tmp_path / "http.sqlite")
    result = crawl(start, adapter=dodo_adapter(start_urls=start), session=session,
                   robots=RobotsPolicy(session, user_agent="neta/0.1"), allowed_hosts=["site.test"], progress=False)
    session.close()
    assert [item.pizza_id for item in result.items] == ["A1"]
    assert result.stats["failed"] == 1 and result.stats["item_errors"] == 1 and result.stats["pages_fetched"] == 1
    failures = {failure["status"]: failure for failure in result.failures}
    assert failures["item_error"]["url"] == SITE + "/moscow" and "(Пустая)" in failures["item_error"]["error"]
    assert failures["parse_error"]["url"] == SITE + "/spb"
    assert "without a pizza section" in failures["parse_error"]["error"]
