"""Serve a snapshot tree on 127.0.0.1 the way the real site answers its URLs.

URL → file mapping (the tree written by ``neta.boke.snapshot.build``):

* a path naming a file is that file (``/robots.txt``, ``/photo/odai/600/<hash>_600.jpg``);
* a path naming a directory is a page: ``index.html`` for page 1, ``page-<N>.html`` for ``?page=N``
  (``/boke/hot?page=3`` → ``boke/hot/page-3.html``, ``/odai/123`` → ``odai/123/index.html``);
* a directory may also hold ``xhr.html``, what the site answers its own scripts (a request with
  ``X-Requested-With: XMLHttpRequest``, e.g. Dodo's 2017 product popup); such answers carry
  ``Vary: X-Requested-With``;
* other query parameters are ignored, as on the real site; anything else is 404.

:func:`write_tree` writes such a tree from its files' bytes, atomically.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from w3lib.encoding import html_body_declared_encoding

from neta.atomic import atomic_dir
from neta.errors import NetaError
from neta.progress import progress

log = logging.getLogger(__name__)

INDEX_FILE = "index.html"
XHR_FILE = "xhr.html"
_CONTENT_TYPES = {
    ".html": "text/html",
    ".txt": "text/plain; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
}


def page_file(page: int) -> str:
    """File name of page ``page`` of a paginated URL inside its directory."""
    return INDEX_FILE if page <= 1 else f"page-{page}.html"


def is_xhr(headers) -> bool:
    """Whether a request comes from a page's own script (jQuery and the like send this header)."""
    return (headers.get("X-Requested-With") or "").lower() == "xmlhttprequest"


def resolve_request(root: Path, target: str, *, xhr: bool = False) -> Path | None:
    """The file answering ``target`` (path and query of a request), or None for 404; ``xhr``: the
    request came from a page's script, which a directory's ``xhr.html`` answers."""
    parts = urlsplit(target)
    segments = [s for s in unquote(parts.path).split("/") if s]
    if any(s in (".", "..") or "\\" in s or s.startswith(".") for s in segments):
        return None
    page_values = parse_qs(parts.query).get("page")
    page = 1
    if page_values:
        if not page_values[0].isdigit() or int(page_values[0]) < 1:
            return None
        page = int(page_values[0])
    candidate = root.joinpath(*segments)
    if candidate.is_dir():
        fragment = candidate / XHR_FILE
        candidate = fragment if xhr and page == 1 and fragment.is_file() else candidate / page_file(page)
    elif page != 1:
        return None
    if not candidate.is_file():
        return None
    try:
        candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return candidate


def content_type(path: Path, head: bytes) -> str:
    kind = _CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    if kind == "text/html":
        # The header repeats the page's own <meta> declaration, spelled as the codec w3lib resolves it
        # to, so a client decodes the body the same way whether it reads the header or the page.
        kind = f"text/html; charset={html_body_declared_encoding(head) or 'utf-8'}"
    return kind


def write_tree(out_dir: Path, files: dict[str, bytes], *, progress_label: str = "snapshot files") -> int:
    """Write ``files`` (relative path → bytes) as the tree ``out_dir``, replacing it atomically (a
    failed build leaves the previous tree untouched); the bytes written."""
    total = 0
    with atomic_dir(out_dir) as staging:
        for rel, data in progress(sorted(files.items()), desc=progress_label, unit="file", leave=False):
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            total += len(data)
    return total


class _Handler(BaseHTTPRequestHandler):
    server_version = "neta-snapshot/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment: with keep-alive, separate small writes meet the
    # client's delayed ACK and cost ~40 ms a request.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def __init__(self, *args, root: Path, **kwargs):
        self.root = root
        super().__init__(*args, **kwargs)

    def _respond(self, with_body: bool) -> None:
        path = resolve_request(self.root, self.path, xhr=is_xhr(self.headers))
        if path is None:
            body = b"404 Not Found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)
            return
        data = path.read_bytes()
        etag = '"' + hashlib.sha1(data).hexdigest() + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type(path, data))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        if (path.parent / XHR_FILE).is_file() and path.name in (XHR_FILE, INDEX_FILE):
            self.send_header("Vary", "X-Requested-With")
        self.end_headers()
        if with_body:
            self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._respond(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(with_body=False)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        # Requests go to the log at debug level instead of http.server's stderr lines.
        log.debug("%s " + format, self.address_string(), *args)


class SnapshotServer:
    """Serve ``root`` on 127.0.0.1 (an ephemeral port by default) in a background thread.

    Use as a context manager; ``origin`` is e.g. ``"http://127.0.0.1:43817"``.
    """

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0):
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is None or address.version != 4 or not address.is_loopback:
            raise NetaError(
                f"snapshot server host {host!r}: only an IPv4 loopback address such as 127.0.0.1 is allowed")
        self.root = Path(root)
        if not self.root.is_dir():
            raise NetaError(f"{self.root}: snapshot directory does not exist; build it first")
        self.host = host
        self.port = port
        self.origin = ""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SnapshotServer:
        server = ThreadingHTTPServer((self.host, self.port), partial(_Handler, root=self.root))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self.origin = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, name="snapshot-server", daemon=True)
        self._thread.start()
        log.info("serving %s at %s", self.root, self.origin)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            log.info("stopped serving %s at %s", self.root, self.origin)
            self._server = None

    def __enter__(self) -> SnapshotServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
