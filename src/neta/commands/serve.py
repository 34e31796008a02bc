"""`neta serve`: the browser app over results/ (Data, Boke, Hiragana, Pizza), served by waitress."""

from __future__ import annotations

import ipaddress
import logging

from neta.errors import NetaError
from neta.layout import RESULTS
from neta.settings import add_settings_options, read_settings
from neta.web import SETTINGS_KEYS

log = logging.getLogger(__name__)

BODY_SLACK = 2**20  # waitress's own limit sits above the app's, so the app answers 413 with its JSON message


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def cmd_serve(args) -> int:
    from pathlib import Path

    from waitress import create_server

    from neta.web.app import create_app

    settings = read_settings(args)
    serve = settings["serve"]
    results = Path(args.results)
    if not results.is_dir():
        log.warning("%s is not a folder: every page will show the snakemake command that builds its stage", results)
    app = create_app(results, settings=settings, weights_file=args.weights_file)
    try:
        server = create_server(app, host=serve["host"], port=serve["port"], threads=serve["threads"],
                               max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + BODY_SLACK, ident="neta")
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
