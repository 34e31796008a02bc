"""A real HTTP server on 127.0.0.1 whose answers are scripted per path, for fault-injection tests.

Also a tiny page format and its parser, so the crawler tests do not depend on the bokete parsers:
bokes are ``<li class="boke" data-id=.. data-odai=.. data-stars=.. data-img=..>text</li>`` and links
are ``<a href="..">``; ``tiny_adapter`` is the bokete site adapter with that parser. And a fake clock
for the rate limiter.
"""

from __future__ import annotations

import dataclasses
import html
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urljoin

from neta.boke.site.adapter import bokete_adapter
from neta.boke.site.records import Boke
from neta.scrape.adapter import ParsedPage, SiteAdapter


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0                   # seconds before the status line (read-timeout fault)
    declared_length: int | None = None   # Content-Length to claim instead of the true one (truncation)
    send_length: bool = True             # False: close-delimited body without Content-Length
    reset: bool = False                  # abort the connection with a TCP RST instead of answering


class ScriptedServer:
    """``route(path, *replies)``: successive requests for ``path`` get the replies in turn, the last
    one repeating. Unrouted paths get 404. Every request path is recorded in ``requests``, and the
    ``time.monotonic()`` at which its request line arrived in ``arrivals`` (same order)."""

    def __init__(self):
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[str] = []
        self.arrivals: list[float] = []
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server naming)
                scripted._answer(self)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # resets/broken pipes are the point here
        self.port = self._httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def route(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies) or [Reply()]

    def page(self, path: str, body: str, **kwargs) -> None:
        self.route(path, Reply(body=body.encode("utf-8"), **kwargs))

    def hits(self, path: str) -> int:
        with self._lock:
            return self.requests.count(path)

    def _next_reply(self, path: str, arrived: float) -> Reply | None:
        with self._lock:
            self.requests.append(path)
            self.arrivals.append(arrived)
            replies = self.routes.get(path)
            if not replies:
                return None
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        with self._lock:
            self.headers_seen.append(dict(handler.headers))
        reply = self._next_reply(handler.path, arrived)
        if reply is None:
            reply = Reply(status=404, body=b"not found", content_type="text/plain")
        if reply.delay:
            time.sleep(reply.delay)
        if reply.reset:
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            handler.close_connection = True
            return
        try:
            handler.send_response(reply.status)
            if reply.content_type:
                handler.send_header("Content-Type", reply.content_type)
            if reply.send_length:
                length = reply.declared_length if reply.declared_length is not None else len(reply.body)
                handler.send_header("Content-Length", str(length))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(reply.body)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# --- the tiny page format -------------------------------------------------------------------------

_BOKE = re.compile(r'<li class="boke" data-id="(\d+)" data-odai="(\d+)" data-stars="(\d+)"'
                   r'(?: data-img="([^"]*)")?>(.*?)</li>', re.S)
_LINK = re.compile(r'<a href="([^"]+)"')


def tiny_parse(text: bytes | str, url: str) -> ParsedPage[Boke]:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if "<html" not in text:
        raise ValueError(f"{url}: not a page")
    bokes = [Boke(boke_id=int(i), odai_id=int(o), text=html.unescape(t.strip()), stars=int(s), votes=None,
                  image_url=urljoin(url, img) if img else "", date=None, source_url=url, layout="tiny")
             for i, o, s, img, t in _BOKE.findall(text)]
    return ParsedPage(layout="tiny", items=bokes, links=[urljoin(url, href) for href in _LINK.findall(text)])


def tiny_adapter(min_stars: int = 0) -> SiteAdapter[Boke]:
    """bokete's dedup, filter and bokes.csv over the tiny page format."""
    return dataclasses.replace(bokete_adapter(min_stars=min_stars), parse=tiny_parse)


def tiny_page(bokes=(), links=(), title="page") -> str:
    """``bokes``: (id, odai, stars, text) tuples."""
    items = "".join(f'<li class="boke" data-id="{i}" data-odai="{o}" data-stars="{s}">{html.escape(t)}</li>'
                    for i, o, s, t in bokes)
    anchors = "".join(f'<a href="{href}">{href}</a>' for href in links)
    return f"<html><head><title>{title}</title></head><body><ul>{items}</ul>{anchors}</body></html>"


def build_tiny_site(server: ScriptedServer, *, pages: int = 30, bokes_per_page: int = 3,
                    robots: str = "User-agent: *\nDisallow: /private/\n") -> dict[int, str]:
    """A paginated list (/list?page=N) whose pages link forward, to odai pages and to a private page.

    Boke ids repeat across neighbouring pages (as on the real site), so deduplication is exercised.
    Returns {boke_id: text} of every boke on the site.
    """
    server.route("/robots.txt", Reply(body=robots.encode(), content_type="text/plain"))
    expected: dict[int, str] = {}
    for n in range(1, pages + 1):
        bokes = []
        for k in range(bokes_per_page):
            boke_id = n * 10 + k
            bokes.append((boke_id, n, (boke_id * 7) % 50, f"ボケ{boke_id} です"))
        bokes.append(((n - 1) * 10, max(n - 1, 1), ((n - 1) * 10 * 7) % 50, f"ボケ{(n - 1) * 10} です"))
        links = [f"/list?page={n + 1}"] if n < pages else []
        links += [f"/odai/{n}#top", "/private/secret", "/list?page=1"]
        server.page(f"/list?page={n}", tiny_page(bokes[:-1] if n == 1 else bokes, links, title=f"list {n}"))
        server.page(f"/odai/{n}", tiny_page([(n * 10, n, (n * 10 * 7) % 50, f"ボケ{n * 10} です")], [], f"odai {n}"))
        for boke_id, _o, _s, text in bokes[:-1] if n == 1 else bokes:
            expected[boke_id] = text
    return expected


class FakeClock:
    """``clock`` and ``sleep`` for RateLimiter: sleeping advances the clock at once, and ``sleeps``
    keeps every sleep asked for, so tests prove the spacing without waiting for it."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
