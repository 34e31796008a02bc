"""The Flask app of ``neta serve``: six pages over results/ and the JSON API their scripts call.

Pages (GET): ``/data``, ``/boke``, ``/hiragana``, ``/pizza``, ``/rate`` and its ``/rate/results`` (``/``
redirects to ``/data``); photos of the bokete crawl at ``/photos/<image_id>``. API (POST, form data):
``/api/boke/generate``, ``/api/boke/score``, ``/api/hiragana/predict``, ``/api/pizza/generate``,
``/api/rate/judge``; GET ``/api/rate/pair``.

Models are loaded once, at their first use or, with ``serve.preload``, when the app is made
(:class:`Server.preload`), and reloaded only when their file changes; a lock a model serialises its
use between waitress's threads. A stage not built shows (page, HTTP 200) or answers (API, HTTP
503) the snakemake command that builds it. Every error is a JSON ``{"error": message}`` (API) or a
page with the message, never a traceback; uploads are bounded by ``MAX_CONTENT_LENGTH`` and opened
as every picture neta takes is (:func:`neta.images.open_image`: the images section's pixel limits).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import logging
import os
import random
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, g, jsonify, redirect, render_template, request, send_file
from PIL import Image
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from neta.atomic import file_sha256
from neta.boke.config import SamplingSettings
from neta.errors import NetaError
from neta.layout import Layout
from neta.settings import subset, validate_config
from neta.web import SETTINGS_KEYS, rate
from neta.web.artifacts import Artifacts, Results, StageBroken, StageMissing
from neta.web.boke import BokeData, KnownVectors
from neta.web.registry import Registry

log = logging.getLogger(__name__)

# create_app(**options) shortcuts: option -> dotted config key
OPTIONS = {"seed": "seed", "device": "device", **{key: f"captioner.decode.{key}" for key in
                                                  ("beam", "top", "max_len", "length_norm", "no_repeat",
                                                   "prefer_complete")},
           **{key: f"serve.{key}" for key in ("host", "port", "threads", "preload", "max_upload_mb", "pizzas")},
           **{key: f"images.{key}" for key in ("max_pixels", "max_side")}}
PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")  # a boke photo upload
DRAWING_FORMATS = ("PNG", "JPEG")  # a hiragana picture
MAX_TEXT = 300  # characters of an own boke
REAL_SHOWN = 100  # real bokes listed a photo, most starred first
TOP_CHARS = 5
SOURCE_LABELS = {  # the Results page's names of the Rate page's sources
    "model_top1": "model: beam top 1",
    "model_sample": "model: sampled",
    "real": "real boke",
    "baseline": "baseline stand-in: the least-starred real boke",
    "most_frequent": "most frequent training boke",
}
RATE_ATTEMPTS = 10  # photos tried for a pair before the Rate page gives up (one whose sources all wrote alike)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class Refused(Exception):
    """A request the app refuses, with the status to answer (400, 403, 404, 413, 415, 503) and a message for the
    user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def app_settings(settings: Mapping | None = None, **options) -> dict:
    """The app's config parts: ``settings`` (config.yaml's structure) with ``options`` (``beam=3``,
    ``max_upload_mb=1``, ...) over it, schema defaults for the rest, validated."""
    config: dict = {key: dict(value) if isinstance(value, Mapping) else value
                    for key, value in (settings or {}).items()}
    for name, value in options.items():
        if name not in OPTIONS:
            raise TypeError(f"create_app() got an unknown option {name!r}; known: {', '.join(OPTIONS)}")
        *parents, leaf = OPTIONS[name].split(".")
        target = config
        for part in parents:
            target[part] = dict(target.get(part) or {})
            target = target[part]
        target[leaf] = value
    return subset(validate_config(config), SETTINGS_KEYS)


class Server:
    """The app's state: the results folder, its settings and the objects loaded from it."""

    def __init__(self, results_dir: str | os.PathLike, settings: dict, weights_file=None) -> None:
        self.results = Results(results_dir)
        self.art = Artifacts.of(Layout.of(settings))
        self.settings = settings
        self.decode = dict(settings["captioner"]["decode"])
        self.sampling = SamplingSettings.of(settings)
        self.serve = settings["serve"]
        self.device = settings["device"]
        self.weights_file = weights_file
        self.registry = Registry()
        self.pairs = rate.PairBook()  # the Rate page's pairs shown and not judged yet
        self.rng = random.SystemRandom()  # which photo, which sources, which side: nothing a rater can predict
        self._ratings = None
        self._ratings_lock = threading.Lock()

    # --- loading ---------------------------------------------------------------------------------------------

    def _build(self, names: tuple[str, ...], build):
        """``build()``, its NetaError (an artifact that cannot be read) turned into StageBroken."""
        self.results.require(*names)
        try:
            return build()
        except NetaError as exc:
            raise StageBroken(self.public(str(exc)), [names[0]]) from exc

    def _get(self, key: str, names: tuple[str, ...], build):
        return self.registry.get(key, lambda: self.results.stamp(*names), lambda: self._build(names, build))

    @contextmanager
    def _use(self, key: str, names: tuple[str, ...], build):
        with self.registry.use(key, lambda: self.results.stamp(*names), lambda: self._build(names, build)) as value:
            yield value

    def public(self, message: str) -> str:
        """A message without the server's absolute paths: results/... instead."""
        return message.replace(str(self.results.root), "results")  # the root is absolute

    def boke_data(self) -> BokeData:
        names = (self.art.captions, self.art.caption_photos)
        return self._get("boke data", names, lambda: BokeData(*(self.results.path(n) for n in names)))

    def captioner(self):
        """Context: the PhotoCaptioner, its lock held."""
        from neta.boke.caption_photos import PhotoCaptioner

        path = self.results.path(self.art.captioner)
        return self._use("captioner", (self.art.captioner,),
                         lambda: PhotoCaptioner(path, device=self.device, weights_file=self.weights_file))

    def captioner_sha256(self) -> str:
        """The sha256 of captioner.pt, stored with each judgement: which model wrote the bokes rated."""
        return self._get("captioner sha256", (self.art.captioner,),
                         lambda: file_sha256(self.results.path(self.art.captioner)))

    def ratings(self):
        """The ratings store (results/ratings.sqlite), opened at its first use and made if missing."""
        from neta.ratings.store import RatingStore

        with self._ratings_lock:
            if self._ratings is not None and not self._ratings.path.is_file():  # deleted meanwhile: a new one
                self._ratings.close()
                self._ratings = None
            if self._ratings is None:
                self._ratings = RatingStore(self.results.path(self.art.ratings))
            return self._ratings

    def judgements(self, kind: str) -> list:
        """The judgements of ``kind`` recorded so far; none when the database is not made yet (reading
        never makes it)."""
        if self.results.missing(self.art.ratings):
            return []
        return self.ratings().judgements(kind=kind)

    def known_vectors(self, captioner) -> KnownVectors | None:
        """The training run's vectors, or None when features.h5 is not there (the backbone makes them then)."""
        if self.results.missing(self.art.features):
            return None
        return self._get("features", (self.art.features, self.art.captioner),
                         lambda: KnownVectors(self.results.path(self.art.features), captioner.checkpoint))

    def hiragana(self):
        """Context: the HiraganaPredictor, its lock held."""
        from neta.hiragana.predict import HiraganaPredictor

        return self._use("hiragana", (self.art.hiragana,),
                         lambda: HiraganaPredictor(self.results.path(self.art.hiragana), device=self.device))

    def recipes(self) -> dict:
        from neta.pizza.recipes import read_recipes

        return self._get("recipes", (self.art.recipes,), lambda: read_recipes(self.results.path(self.art.recipes)))

    def generators(self) -> tuple[list[tuple[str, str]], list[str]]:
        """(the generators built: (checkpoint, label)), (those not built: checkpoint names)."""
        present = [(name, label) for name, label in self.art.generators if not self.results.missing(name)]
        return present, [name for name, _ in self.art.generators if self.results.missing(name)]

    def pizza_generator(self, name: str):
        """Context: the PizzaGenerator of checkpoint ``name`` (with recipes.json), its lock held."""
        from neta.pizza.generate import PizzaGenerator

        return self._use(f"pizza {name}", (name, self.art.recipes),
                         lambda: PizzaGenerator(self.results.path(name), self.results.path(self.art.recipes),
                                                device=self.device))

    def statistics(self, what: str) -> dict:
        """The figures of the Data page, computed once a version of their files."""
        from neta.stats import data

        names, function = {
            "bokete": ((self.art.bokes, self.art.captions, self.art.vocab), data.bokete_statistics),
            "bokete crawl": ((self.art.bokete_manifest,), data.crawl_statistics),
            "pizza": ((self.art.menu, self.art.recipes), data.pizza_statistics),
            "pizza crawl": ((self.art.pizza_manifest,), data.crawl_statistics),
            "hiragana": ((self.art.etl,), data.etl_statistics),
        }[what]
        return self._get(f"statistics {what}", names, lambda: function(*(self.results.path(n) for n in names)))

    def preload(self) -> list[str]:
        """Load every model and table that is built (a stage not built is skipped); the keys loaded."""
        def captioner():
            with self.captioner() as loaded:
                self.known_vectors(loaded)
                loaded.backbone()
                loaded.tokenize("準備")  # MeCab's dictionary
            self.boke_data()
            self.captioner_sha256()  # the Rate page records it with each judgement

        def hiragana():
            with self.hiragana():
                pass

        def pizzas():
            self.recipes()
            for name, _ in self.generators()[0]:
                with self.pizza_generator(name):
                    pass

        for what, load in (("boke generator", captioner), ("hiragana recognizer", hiragana),
                           ("pizza generators", pizzas)):
            try:
                load()
            except StageMissing as exc:
                log.info("%s not loaded: %s", what, exc)
            except (StageBroken, NetaError) as exc:
                log.warning("%s not loaded: %s", what, exc)
        return self.registry.loaded()

    # --- requests --------------------------------------------------------------------------------------------

    def upload(self, field: str, formats: tuple[str, ...]) -> Image.Image:
        """The image uploaded in ``field``, checked (size, type, a full decode within the pixel limits)."""
        from neta.images import ImageLimits, ImageRefused, open_image

        upload = request.files.get(field)
        if upload is None:
            raise Refused(400, f"no file in the form field {field!r}")
        declared = (upload.mimetype or "").lower()
        if declared and not declared.startswith("image/") and declared != "application/octet-stream":
            raise Refused(415, f"the upload is {declared}, not an image; give a {' or '.join(formats)} file")
        data = upload.read()
        if not data:
            raise Refused(400, "the uploaded file is empty")
        try:
            return open_image(data, ImageLimits.of(self.settings), name="the upload", formats=formats)
        except ImageRefused as exc:
            raise Refused({"too_large": 413, "not_image": 415}.get(exc.reason, 400), str(exc)) from exc


def create_app(results_dir: str | os.PathLike = "results", *, settings: Mapping | None = None,
               weights_file: str | os.PathLike | None = None, **options) -> Flask:
    """The app over ``results_dir``. ``settings``: config parts as in config.yaml (``seed``, ``device``,
    ``captioner.decode``, ``serve``); ``options``: single values over them (``beam=3``, ``preload=False``,
    ``max_upload_mb=1``, ...); the config schema's defaults for the rest. ``weights_file``: the
    backbone's weights where they are not found by themselves (as ``neta caption --weights-file``)."""
    server = Server(results_dir, app_settings(settings, **options), weights_file)
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=int(server.serve["max_upload_mb"] * 2**20), DEBUG=False, TESTING=False,
                      PROPAGATE_EXCEPTIONS=False, TRAP_HTTP_EXCEPTIONS=False)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["neta"] = server
    _routes(app, server)
    _errors(app, server)

    @app.before_request
    def refuse_too_large():
        # Every route alike, before any reads the body: also how the app answers for waitress, which
        # refuses such a request unread and hands it over with the declared length (neta.commands.serve).
        if request.content_length is not None and request.content_length > app.config["MAX_CONTENT_LENGTH"]:
            raise RequestEntityTooLarge()

    @app.after_request
    def headers(response):
        if g.get("new_rater"):  # a rater without the cookie (or with one the app did not make) got an id
            response.set_cookie(rate.RATER_COOKIE, g.new_rater, max_age=rate.RATER_COOKIE_AGE_S, path="/",
                                httponly=True, samesite="Lax")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    if server.serve["preload"]:
        log.info("loaded: %s", ", ".join(server.preload()) or "nothing (no stage built)")
    return app


# --- pages and API -------------------------------------------------------------------------------------------


def _routes(app: Flask, server: Server) -> None:
    @app.get("/")
    def index():
        return redirect("/data")

    @app.get("/data")
    def data_page():
        sections = {}
        for what in ("bokete", "bokete crawl", "pizza", "pizza crawl", "hiragana"):
            sections[what] = _section(server, what)
        return render_template("data.html", page="data", sections=sections, charts=_data_charts(sections))

    @app.get("/boke")
    def boke_page():
        missing = server.results.missing(server.art.captioner, server.art.captions, server.art.caption_photos)
        if missing:
            return render_template("boke.html", page="boke", missing=StageMissing(missing))
        return render_template("boke.html", page="boke", data=server.boke_data(), decode=server.decode,
                               max_upload_mb=server.serve["max_upload_mb"], max_text=MAX_TEXT,
                               from_features=not server.results.missing(server.art.features))

    @app.get("/hiragana")
    def hiragana_page():
        missing = server.results.missing(server.art.hiragana)
        return render_template("hiragana.html", page="hiragana", missing=StageMissing(missing) if missing else None)

    @app.get("/pizza")
    def pizza_page():
        present, absent = server.generators()
        checkpoints = [name for name, _ in server.art.generators]
        missing = server.results.missing(server.art.recipes) + ([] if present else checkpoints)
        if missing:
            return render_template("pizza.html", page="pizza", missing=StageMissing(missing))
        recipes = server.recipes()
        return render_template("pizza.html", page="pizza", vocabulary=recipes["vocabulary"][1:],
                               slots=recipes["slots"], present=present,
                               absent=[StageMissing([name]) for name in absent], count=server.serve["pizzas"])

    @app.get("/rate")
    def rate_page():
        _rater()  # the cookie comes with the page
        missing = server.results.missing(server.art.captioner, server.art.captions, server.art.caption_photos)
        if missing:
            return render_template("rate.html", page="rate", missing=StageMissing(missing))
        return render_template("rate.html", page="rate", photos=len(server.boke_data().in_split("test")))

    @app.get("/rate/results")
    def rate_results():
        from neta.ratings.stats import summarise

        judgements = server.judgements("boke")
        summary = summarise(judgements)
        rater = request.cookies.get(rate.RATER_COOKIE, "")
        return render_template("rate_results.html", page="rate-results", summary=summary, labels=SOURCE_LABELS,
                               table=_win_table(summary), mine=sum(j.rater == rater for j in judgements),
                               checkpoints=len({j.checkpoint for j in judgements}))

    @app.get("/photos/<image_id>")
    def photo(image_id: str):
        path = server.boke_data().served(image_id) if not server.results.missing(
            server.art.captions, server.art.caption_photos) else None
        if path is None or not path.is_file():
            raise Refused(404, "no such photo")
        return send_file(path, max_age=3600)

    @app.get("/fonts/ipaexg.ttf")
    def japanese_font():
        """IPAexGothic from the installed japanize-matplotlib, for a browser without a Japanese font."""
        from neta.fonts import ipaexgothic_path

        try:
            path = ipaexgothic_path()
        except NetaError as exc:
            raise Refused(404, "no Japanese font installed") from exc
        return send_file(path, mimetype="font/ttf", max_age=86400)

    @app.post("/api/boke/generate")
    def boke_generate():
        server.results.require(server.art.captioner, server.art.captions, server.art.caption_photos)
        data = server.boke_data()
        image_id, upload = _photo_request(server, data)
        with server.captioner() as captioner:
            vector = _vector(server, captioner, data, image_id, upload)
            found = captioner.caption_vectors(vector.reshape(1, -1), **server.decode)[0]
        bokes = [_generated(boke, server.decode["length_norm"], data.training) for boke in found]
        real = data.real[image_id] if image_id else []
        return jsonify({"image_id": image_id, "bokes": bokes, "real": real[:REAL_SHOWN], "real_total": len(real),
                        "beam": server.decode["beam"]})

    @app.post("/api/boke/sample")
    def boke_sample():
        """Generate again: bokes drawn at random (top-k, nucleus), the same ``seed`` the same bokes."""
        server.results.require(server.art.captioner, server.art.captions, server.art.caption_photos)
        data = server.boke_data()
        image_id, upload = _photo_request(server, data)
        try:
            seed = int(request.form.get("seed", "0"))
        except ValueError:
            raise Refused(400, "seed: expected a whole number") from None
        with server.captioner() as captioner:
            vector = _vector(server, captioner, data, image_id, upload)
            found = captioner.sample_vectors(vector.reshape(1, -1), max_len=server.decode["max_len"],
                                             no_repeat=server.decode["no_repeat"], sampling=server.sampling,
                                             seed=seed)[0]
        bokes = [_generated(boke, False, data.training) for boke in found]
        return jsonify({"image_id": image_id, "bokes": bokes, "seed": seed})

    @app.post("/api/boke/score")
    def boke_score():
        server.results.require(server.art.captioner, server.art.captions, server.art.caption_photos)
        data = server.boke_data()
        text = request.form.get("text")
        if text is None:
            raise Refused(400, "no form field 'text' (the boke to score)")
        if not text.strip():
            raise Refused(400, "the boke is empty; write one")
        if len(text) > MAX_TEXT:
            raise Refused(400, f"the boke has {len(text)} characters; at most {MAX_TEXT}")
        image_id, upload = _photo_request(server, data)
        with server.captioner() as captioner:
            vector = _vector(server, captioner, data, image_id, upload)
            scored = captioner.score(text, vector)
        return jsonify({**scored, "image_id": image_id})

    @app.get("/api/rate/pair")
    def rate_pair():
        """A photo of the test split and two bokes of it from two sources, which stay on the server."""
        from neta.ratings.store import Candidate

        server.results.require(server.art.captioner, server.art.captions, server.art.caption_photos)
        rater = _rater()
        data = server.boke_data()
        photos = data.in_split("test")
        if not photos:
            raise Refused(503, "the caption table has no test photo with a downloaded file: nothing to rate")
        for _ in range(RATE_ATTEMPTS):
            image_id = server.rng.choice(photos)
            with server.captioner() as captioner:
                checkpoint = server.captioner_sha256()
                top1, sampled = _model_bokes(server, captioner, data, image_id)
            candidates = rate.boke_candidates(data.real.get(image_id, []), most_frequent=data.most_frequent,
                                              top1=top1, sampled=sampled, rng=server.rng)
            pair = rate.draw_pair(candidates, server.rng)
            if pair is not None:
                break
        else:
            raise Refused(503, f"{RATE_ATTEMPTS} test photos drawn, none with two different bokes to compare")
        (left_source, left), (right_source, right) = pair
        token = server.pairs.issue(rater=rater, photo=image_id, left=Candidate(left, left_source),
                                   right=Candidate(right, right_source), checkpoint=checkpoint, kind="boke")
        response = jsonify({"token": token, "photo": f"/photos/{image_id}", "left": left, "right": right})
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.post("/api/rate/judge")
    def rate_judge():
        """The rater's choice for the pair of ``token``: recorded once, with both sources and the checkpoint."""
        from neta.ratings.store import CHOICES

        fields = request.get_json(silent=True) if request.is_json else request.form
        if not isinstance(fields, Mapping):
            raise Refused(400, "expected a JSON object or form fields: token and choice")
        token, choice = fields.get("token"), fields.get("choice")
        if not isinstance(token, str) or not token:
            raise Refused(400, "no token: give the token of the pair from /api/rate/pair")
        if choice not in CHOICES:
            raise Refused(400, f"choice: one of {', '.join(CHOICES)}")
        rater = request.cookies.get(rate.RATER_COOKIE, "")

        def record(shown) -> int:
            return server.ratings().record(rater=shown.rater, photo=shown.photo, left=shown.left, right=shown.right,
                                           checkpoint=shown.checkpoint, choice=choice, kind=shown.kind)

        try:
            judgement, counted = server.pairs.judge(token, rater, record)
        except rate.UnknownPair:
            raise Refused(404, "unknown or expired pair; load a new one") from None
        except rate.OtherRater:
            raise Refused(403, "this pair was shown to another rater (another neta_rater cookie)") from None
        return jsonify({"ok": True, "counted": counted, "judgement": judgement})

    @app.post("/api/hiragana/predict")
    def hiragana_predict():
        server.results.require(server.art.hiragana)
        image = server.upload("image", DRAWING_FORMATS)
        with server.hiragana() as predictor:
            top = predictor.predict([image], top=TOP_CHARS)[0]
        return jsonify({f"top{TOP_CHARS}": top})

    @app.post("/api/pizza/generate")
    def pizza_generate():
        from neta.pizza.generate import ingredient_indices

        present, absent = server.generators()
        server.results.require(server.art.recipes, *([] if present else [name for name, _ in server.art.generators]))
        names = request.form.getlist("ingredient")
        if not names:
            raise Refused(400, "no ingredient ticked; tick at least one")
        indices = ingredient_indices(names, server.recipes(), what="ingredient")
        images = []
        for name, label in present:
            with server.pizza_generator(name) as generator:
                grid = generator.grid(indices, count=server.serve["pizzas"], seed=server.settings["seed"])
                kind, conditioned = generator.kind, generator.conditioned
            png = io.BytesIO()
            grid.save(png, format="PNG")
            images.append({"model": Path(name).stem, "kind": kind, "label": label, "conditioned": conditioned,
                           "png": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")})
        return jsonify({"ingredients": names, "images": images,
                        "missing": [{"model": Path(name).stem, "command": StageMissing([name]).command}
                                    for name in absent]})


def _rater() -> str:
    """The rater's id: the ``neta_rater`` cookie, or a new random one (set on the response by
    :func:`create_app`'s ``after_request``) when there is none or it is not one the app made."""
    current = request.cookies.get(rate.RATER_COOKIE, "")
    if rate.RATER_ID.fullmatch(current):
        return current
    if "new_rater" not in g:
        g.new_rater = rate.new_rater()
    return g.new_rater


def _model_bokes(server: Server, captioner, data: BokeData, image_id: str) -> tuple[str | None, str | None]:
    """The captioner's two bokes of a known photo for the Rate page: the beam's top 1 (as Generate
    computes it) and one boke drawn at random with the app's sampling settings (as Generate again, with
    a fresh seed). None for one that came out empty."""
    vector = _vector(server, captioner, data, image_id, None).reshape(1, -1)
    found = captioner.caption_vectors(vector, **server.decode)[0]
    drawn = captioner.sample_vectors(vector, max_len=server.decode["max_len"], no_repeat=server.decode["no_repeat"],
                                     sampling=dataclasses.replace(server.sampling, samples=1),
                                     seed=server.rng.randrange(2**31))[0]
    return (found[0]["text"] if found else None), (drawn[0]["text"] if drawn else None)


def _win_table(summary: dict) -> dict:
    """The Results page's table: each source present (rows) against each other (columns), the row's
    win rate over the decided judgements with its Wilson 95 % interval and the judgements of the pair."""
    sources = list(summary["sources"])
    cells: dict[tuple[str, str], dict] = {}
    for pair in summary["pairs"]:
        a, b, share, ci = pair["a"], pair["b"], pair["a_rate"], pair["a_ci"]
        cells[a, b] = {"rate": share, "ci": ci, "n": pair["n"], "wins": pair["a_wins"], "losses": pair["b_wins"]}
        cells[b, a] = {"rate": None if share is None else 1 - share,
                       "ci": None if ci is None else [1 - ci[1], 1 - ci[0]], "n": pair["n"],
                       "wins": pair["b_wins"], "losses": pair["a_wins"]}
    return {"sources": sources, "cells": cells}


def _photo_request(server: Server, data: BokeData) -> tuple[str | None, Image.Image | None]:
    """(image_id of a known photo, None) or (None, the uploaded photo), from the form."""
    image_id = request.form.get("image_id", "").strip()
    uploaded = "photo" in request.files
    if image_id and uploaded:
        raise Refused(400, "give either image_id or an uploaded photo, not both")
    if uploaded:
        return None, server.upload("photo", PHOTO_FORMATS)
    if not image_id:
        raise Refused(400, "no photo: give image_id (a photo of the list) or upload one in the field 'photo'")
    if not data.known(image_id):
        raise Refused(404, "unknown photo id (expected the sha256 of a photo of the list)")
    return image_id, None


def _vector(server: Server, captioner, data: BokeData, image_id: str | None, upload: Image.Image | None):
    """The photo's feature vector: the training run's (features.h5) for a known photo, else the backbone's."""
    import torch

    if image_id is not None:
        known = server.known_vectors(captioner)
        found = known.get(image_id) if known is not None else None
        if found is not None:
            return torch.from_numpy(found)
    try:
        captioner.backbone()  # built at the first upload (or at preload); its weights must be the training run's
    except NetaError as exc:
        raise StageBroken(server.public(str(exc)), []) from exc
    return captioner.vectors([upload if upload is not None else data.files[image_id]])[0]


def _generated(boke: dict, length_norm: bool, training: set) -> dict:
    """A beam-search caption for the page: its log-probability in total and a token (``<eos>`` counted),
    whether it is complete (neta.boke.quality) and whether it is a training boke word for word."""
    tokens = len(boke["tokens"]) + 1
    total = boke["logprob"] * tokens if length_norm else boke["logprob"]  # with length_norm it is the per-token key
    return {"text": boke["text"], "score": round(total / tokens, 4), "logprob": round(total, 4),
            "tokens": boke["tokens"], "complete": boke["complete"], "copied": tuple(boke["tokens"]) in training}


def _section(server: Server, what: str) -> dict:
    try:
        return {"stats": server.statistics(what)}
    except StageMissing as exc:
        return {"missing": exc}
    except StageBroken as exc:
        return {"error": str(exc)}


def _data_charts(sections: dict) -> dict:
    from neta.web import charts

    found = {}
    bokete = sections["bokete"].get("stats")
    if bokete:
        found["bokes_per_photo"] = charts.columns([(n, photos) for n, photos in
                                                   bokete["bokes_per_photo"]["histogram"]])
        found["stars"] = charts.columns([(f"{lo}–{hi - 1}" if hi - lo > 1 else lo, n)
                                         for lo, hi, n in bokete["stars"]["histogram"]])
        found["caption_length"] = charts.columns([(n, captions) for n, captions in
                                                  bokete["caption_length"]["histogram"]])
    pizza = sections["pizza"].get("stats")
    if pizza:
        found["ingredients"] = charts.rows(pizza["ingredients"])
    hiragana = sections["hiragana"].get("stats")
    if hiragana:
        found["per_class"] = charts.columns(hiragana["per_class"], min_bar=14, gap=2)
    return found


# --- errors --------------------------------------------------------------------------------------------------


def _errors(app: Flask, server: Server) -> None:
    def answer(status: int, message: str, command: str | None = None):
        if request.path.startswith(("/api/", "/photos/")):
            body = {"error": message, **({"command": command} if command else {})}
            return jsonify(body), status
        return render_template("error.html", page=None, status=status, message=message, command=command), status

    @app.errorhandler(Refused)
    def bad_request(exc: Refused):
        return answer(exc.status, str(exc))

    @app.errorhandler(NetaError)
    def neta_error(exc: NetaError):
        return answer(400, server.public(str(exc)))

    @app.errorhandler(StageMissing)
    def stage_missing(exc: StageMissing):
        if request.path.startswith(("/api/", "/photos/")):
            return answer(503, str(exc), exc.command)
        return render_template("error.html", page=None, status=200, missing=exc), 200

    @app.errorhandler(StageBroken)
    def stage_broken(exc: StageBroken):
        return answer(503, str(exc), exc.command if exc.targets else None)

    @app.errorhandler(HTTPException)  # 400, 404, 405, 413, 415, ... as raised by Flask and werkzeug
    def http_error(exc: HTTPException):
        messages = {
            404: "no such page",
            405: f"{request.method} is not allowed here",
            413: f"the request is too large: at most {server.serve['max_upload_mb']:g} MiB (serve.max_upload_mb)",
        }
        return answer(exc.code or 500, messages.get(exc.code, exc.description or exc.name))

    @app.errorhandler(500)  # abort(500) too, which would otherwise reach http_error
    @app.errorhandler(Exception)  # anything else: a 500 with a message; the traceback goes to the log only
    def unexpected(exc: Exception):
        log.exception("error answering %s %s", request.method, request.path)
        return answer(500, "internal error; the server's log has the details")
