"""`neta serve` around the app: waitress's body limit answered by the app, the results folder checked, and
the config it reads (a checkout's config.yaml, as the workflow reads it)."""

from __future__ import annotations

import json
import logging
import socket
import threading

import pytest
import requests
from waitress import wasyncore

from neta.cli import main
from neta.commands import serve
from neta.web.app import create_app

LIMIT_MB = 0.01  # 10,485 bytes
LIMIT = int(LIMIT_MB * 2**20)


@pytest.fixture
def served(tmp_path):
    """The app over an empty results folder behind a real waitress server on a free loopback port."""
    results = tmp_path / "results"
    results.mkdir()
    app = create_app(results, preload=False, max_upload_mb=LIMIT_MB)
    socket_map: dict = {}
    server = serve.make_server(app, host="127.0.0.1", port=0, threads=1, socket_map=socket_map)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=socket_map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        stop.set()
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(socket_map)


def exchange(port: int, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` and ``body`` on one connection; (status, headers, body) of the first answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head + body)
        reader = conn.makefile("rb")
        status = int(reader.readline().split()[1])
        headers = {}
        while line := reader.readline().strip():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, reader.read(int(headers["content-length"]))


def assert_app_413(status, headers, body) -> None:
    assert status == 413
    assert headers["content-type"].startswith("application/json"), (headers, body)
    message = json.loads(body)["error"]
    assert "at most 0.01 MiB (serve.max_upload_mb)" in message
    assert headers["connection"].lower() == "close"
    assert "content-security-policy" in headers  # the app's own headers: it wrote this answer


def upload_head(length: int, *, chunked: bool = False) -> bytes:
    size = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}"
    return (
        f"POST /api/hiragana/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary=xyz\r\n{size}\r\n\r\n"
    ).encode("ascii")


def test_an_upload_far_over_the_limit_gets_the_apps_json_413_not_waitress_text(served):
    # declared 100 MB: waitress refuses it after the headers, the app words the answer
    assert_app_413(*exchange(served, upload_head(100_000_000), b"--xyz\r\n"))


def test_an_upload_just_over_the_limit_gets_the_same_answer(served):
    assert_app_413(*exchange(served, upload_head(LIMIT + 1), b"x" * 1000))


def test_a_chunked_upload_over_the_limit_gets_the_same_answer(served):
    chunk = b"x" * (LIMIT + 100)
    body = f"{len(chunk):x}\r\n".encode("ascii") + chunk + b"\r\n0\r\n\r\n"
    assert_app_413(*exchange(served, upload_head(0, chunked=True), body))


def test_requests_within_the_limit_reach_the_app_as_before(served):
    # the folder is empty: the app answers that the model is not built, with the command that builds it
    response = requests.post(
        f"http://127.0.0.1:{served}/api/hiragana/predict",
        files={"image": ("a.png", b"x" * (LIMIT // 2), "image/png")},
        timeout=10,
    )
    assert response.status_code == 503 and "snakemake" in response.json()["command"]
    assert requests.get(f"http://127.0.0.1:{served}/data", timeout=10).status_code == 200


def test_serve_refuses_a_results_folder_that_does_not_exist(tmp_path, monkeypatch, capsys):
    def started(*args, **kwargs):
        raise AssertionError("neta serve went on to serve a folder that does not exist")

    monkeypatch.setattr("neta.web.app.create_app", started)
    missing = tmp_path / "nonexistent"
    assert main(["serve", "--results", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"neta: error: --results {missing}: no such folder" in err and "`make run`" in err


def checkout(root, config_text: str):
    root.mkdir(parents=True, exist_ok=True)
    (root / "Snakefile").write_text('configfile: "config.yaml"\n', encoding="utf-8")
    (root / "config.yaml").write_text(config_text, encoding="utf-8")
    (root / "results").mkdir(exist_ok=True)
    return root


def started_with(monkeypatch, argv):
    """The settings `neta serve` would serve with (the server itself is not started)."""
    seen = {}

    def fake_create_app(results, *, settings, weights_file):
        seen["settings"] = settings
        raise SystemExit(0)

    monkeypatch.setattr("neta.web.app.create_app", fake_create_app)
    with pytest.raises(SystemExit):
        main(["serve", *argv])
    return seen["settings"]


def test_serve_reads_the_checkouts_config_yaml_like_the_workflow(tmp_path, monkeypatch, caplog):
    root = checkout(tmp_path / "neta", "seed: 7\nserve:\n  port: 8123\n")
    caplog.set_level(logging.INFO, logger="neta.commands.serve")
    monkeypatch.chdir(root)  # run from the checkout, default --results
    settings = started_with(monkeypatch, [])
    assert settings["seed"] == 7 and settings["serve"]["port"] == 8123
    assert settings["serve"]["threads"] == 4  # keys it does not name keep the schema's defaults
    assert f"config: {root / 'config.yaml'}" in caplog.text

    monkeypatch.chdir(tmp_path)  # from elsewhere, --results inside the checkout
    assert started_with(monkeypatch, ["--results", str(root / "results")])["seed"] == 7
    # a flag still overrides one value
    assert started_with(monkeypatch, ["--results", str(root / "results"), "--port", "9000"])["serve"]["port"] == 9000


def test_configfile_wins_and_no_checkout_means_the_defaults(tmp_path, monkeypatch, caplog):
    root = checkout(tmp_path / "neta", "seed: 7\n")
    other = tmp_path / "other.yaml"
    other.write_text("seed: 11\n", encoding="utf-8")
    caplog.set_level(logging.INFO, logger="neta.commands.serve")
    monkeypatch.chdir(root)
    assert started_with(monkeypatch, ["--configfile", str(other)])["seed"] == 11
    assert f"config: {other} (--configfile)" in caplog.text

    elsewhere = tmp_path / "elsewhere" / "results"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere.parent)
    assert started_with(monkeypatch, ["--results", str(elsewhere)])["seed"] == 0
    assert "config: the schema's defaults" in caplog.text
