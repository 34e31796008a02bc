"""`neta serve`: the browser app over results/ (Data, Boke, Hiragana, Pizza), served by waitress.

Which config it reads: ``--settings`` or ``--configfile`` when given; otherwise the ``config.yaml``
of the checkout the results belong to (the folder holding the ``Snakefile`` at or above
``--results``), or of the folder it is run from, as the workflow reads it (over the schema's
defaults); otherwise the schema's defaults. The log says which.

Request bodies: waitress refuses one over the app's limit (``serve.max_upload_mb``) as soon as it
has read the headers, without reading the body; the refusal is then answered by the app itself,
so every over-limit upload gets the app's JSON 413 and not waitress's plain-text page.
"""

from __future__ import annotations

import io
import ipaddress
import logging
from pathlib import Path

from neta.errors import NetaError
from neta.layout import RESULTS
from neta.settings import add_settings_options, read_settings
from neta.web import SETTINGS_KEYS

log = logging.getLogger(__name__)

CHECKOUT_MARKERS = ("Snakefile", "config.yaml")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def checkout_config(results: Path, cwd: Path | None = None) -> Path | None:
    """The ``config.yaml`` beside the ``Snakefile`` of the checkout ``results`` lies in (the nearest
    such folder above it), else of the folder ``cwd`` (default: the current one); None when neither is
    a checkout."""
    cwd = Path.cwd() if cwd is None else cwd
    for folder in (*results.resolve().parents, cwd.resolve()):
        if all((folder / name).is_file() for name in CHECKOUT_MARKERS):
            return folder / "config.yaml"
    return None


def check_results(results: Path) -> None:
    """NetaError unless ``results`` is an existing folder (an empty one is fine: each page then shows the
    command that builds its stage)."""
    where = "" if results.is_absolute() else f" (in {Path.cwd()})"
    if not results.exists():
        raise NetaError(f"--results {results}: no such folder{where}. Build it with `make run` in the checkout "
                        "(it writes results/ there), or give --results the results folder of a finished run")
    if not results.is_dir():
        raise NetaError(f"--results {results}: not a folder{where}; give the results folder of a run")


def _too_large_task():
    """A waitress task class: the app answers a request waitress refused as too large (see module doc)."""
    from waitress.task import WSGITask

    class AppAnswersTooLarge(WSGITask):
        def get_environment(self):
            environ = super().get_environment()
            # The body was never read: the app sees the size the client declared (or what had arrived
            # of a chunked body), over its limit, and an empty stream.
            declared = max(self.request.content_length, self.request.body_bytes_received)
            environ["CONTENT_LENGTH"] = str(declared)
            environ["wsgi.input"] = io.BytesIO()
            return environ

        def execute(self):
            self.set_close_on_finish()  # the unread body cannot be followed by another request
            super().execute()

    return AppAnswersTooLarge


def make_server(app, *, host: str, port: int, threads: int, socket_map: dict | None = None):
    """The waitress server of ``app`` (not yet running). Its body limit is the app's ``MAX_CONTENT_LENGTH``
    and the app writes the 413 answer; ``socket_map`` is waitress's socket map (tests run the loop)."""
    from waitress import create_server
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer
    from waitress.task import ErrorTask
    from waitress.utilities import RequestEntityTooLarge

    too_large = _too_large_task()

    def error_task(channel, request):
        task_class = too_large if isinstance(request.error, RequestEntityTooLarge) else ErrorTask
        return task_class(channel, request)

    class Channel(HTTPChannel):
        error_task_class = staticmethod(error_task)

    socket_map = {} if socket_map is None else socket_map
    # waitress refuses a body of max_request_body_size bytes or more, so one byte over the app's limit.
    server = create_server(app, map=socket_map, host=host, port=port, threads=threads,
                           max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 1, ident="neta")
    for dispatcher in list(socket_map.values()):  # one server a listening socket
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = Channel
    return server


def cmd_serve(args) -> int:
    from neta.web.app import create_app

    results = Path(args.results)
    check_results(results)
    if args.settings is not None:
        log.info("config: the parts given by --settings")
    elif args.configfile is not None:
        log.info("config: %s (--configfile)", args.configfile)
    else:
        found = checkout_config(results)
        if found is not None:
            args.configfile = str(found)
            log.info("config: %s, the checkout's config.yaml, as the workflow reads it (--configfile for another)",
                     found)
        else:
            log.info("config: the schema's defaults (no checkout with a Snakefile and config.yaml at or above %s "
                     "or here; --configfile to read one)", results)
    settings = read_settings(args)
    serve = settings["serve"]
    app = create_app(results, settings=settings, weights_file=args.weights_file)
    try:
        server = make_server(app, host=serve["host"], port=serve["port"], threads=serve["threads"])
    except OSError as exc:
        raise NetaError(f"cannot listen on {serve['host']}:{serve['port']} ({exc}); give another --port, or stop "
                        "what listens there") from exc
    if not _loopback(serve["host"]):
        log.warning("listening on %s: other machines can reach this app (no login, no TLS)", serve["host"])
    print(f"neta serve: {results} on http://{serve['host']}:{serve['port']}/ (Ctrl-C stops it)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def register(commands, verbs) -> None:
    serve = commands.add_parser("serve", help="the browser app over results/ (Data, Boke, Hiragana, Pizza pages)")
    serve.add_argument("--results", default=RESULTS, help=f"the workflow's results folder (default {RESULTS})")
    serve.add_argument("--weights-file", help="the captioner backbone's weights file, where it is not found by itself")
    add_settings_options(serve, SETTINGS_KEYS)
    serve.set_defaults(handler=cmd_serve)
