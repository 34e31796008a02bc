"""Where the workflow writes each artifact, as a function of the config: the one table the Snakefile
(workflow/rules/common.smk), the app (neta.web) and the commands read.

Paths are relative to the folder the workflow runs in (``results/...``); :meth:`Layout.relative`
gives them relative to the results folder, as the app, which may read any folder laid out like
``results/``, names them. Pure and importing nothing of neta (no torch, no Snakemake), so the
Snakefile imports it cheaply and a stage that reads it depends on this file alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

RESULTS = "results"


@dataclass(frozen=True)
class Layout:
    """The results tree of one configuration. ``caption_dataset`` (captioner.dataset) decides where the
    caption generator's files go: beside the bokete crawl, or under ``results/captions/<dataset>/``;
    ``hiragana_network`` (hiragana.model) which checkpoint is the hiragana recognizer."""

    caption_dataset: str
    hiragana_network: str

    @classmethod
    def of(cls, config: Mapping) -> Layout:
        return cls(caption_dataset=config["captioner"]["dataset"], hiragana_network=config["hiragana"]["model"])

    # --- folders -----------------------------------------------------------------------------------
    @staticmethod
    def results(*parts: str) -> str:
        return str(PurePosixPath(RESULTS, *parts))

    def hiragana(self, name: str) -> str:
        return self.results("hiragana", name)

    def bokete(self, name: str) -> str:
        return self.results("bokete", name)

    def pizza(self, name: str) -> str:
        return self.results("pizza", name)

    def report(self, name: str) -> str:
        """Files made for `snakemake --report` only: data statistics, metric tables, the inlined gallery."""
        return self.results("report", name)

    @property
    def crawled_captions(self) -> bool:
        """The caption generator learns from the bokete crawl (else from a public caption dataset)."""
        return self.caption_dataset == "bokete"

    def captions(self, name: str) -> str:
        """A file of the caption generator: beside the crawl, or under results/captions/<dataset>/."""
        return self.bokete(name) if self.crawled_captions else self.external_captions(name)

    def external_captions(self, name: str) -> str:
        return self.results("captions", self.caption_dataset, name)

    @staticmethod
    def log(rule: str) -> str:
        return Layout.results("logs", f"{rule}.log")

    @staticmethod
    def benchmark(rule: str) -> str:
        return Layout.results("benchmarks", f"{rule}.tsv")

    @staticmethod
    def cache(site: str) -> str:
        """The HTTP cache a site's crawl and downloads share: deliberate state that outlives a run."""
        return Layout.results("cache", f"{site}.sqlite")

    @staticmethod
    def onnx_cache() -> str:
        """ONNX exports of the feature backbones, made once and kept like the HTTP caches."""
        return Layout.results("cache", "onnx")

    # --- the artifacts more than one part of neta names --------------------------------------------
    @property
    def etl(self) -> str:
        return self.hiragana("etl_28.h5")

    @property
    def bn_cnn_etl(self) -> str:
        """The same records at ``hiragana.bn_cnn.size``, which the batch-normalised CNN reads."""
        return self.hiragana("etl_bn_cnn.h5")

    @property
    def tutorial_cnn_model(self) -> str:
        """The seed's tutorial CNN and the softmax baseline (`neta hiragana train`)."""
        return self.hiragana("model.pt")

    @property
    def bn_cnn_model(self) -> str:
        """The batch-normalised CNN (`neta hiragana train-bn-cnn`)."""
        return self.hiragana("bn_cnn.pt")

    @property
    def hiragana_model(self) -> str:
        """The recognizer hiragana.model names: what the app and the README's `neta hiragana predict` use."""
        return self.bn_cnn_model if self.hiragana_network == "bn_cnn" else self.tutorial_cnn_model

    @property
    def bokes(self) -> str:
        return self.bokete("bokes.csv")

    @property
    def bokete_manifest(self) -> str:
        return self.bokete("images/manifest.csv")

    @property
    def caption_table(self) -> str:
        return self.captions("captions.csv")

    @property
    def caption_photos(self) -> str:
        """The manifest of the captioner's photos: the bokete downloads, or the dataset's own."""
        return self.bokete_manifest if self.crawled_captions else self.external_captions("images/manifest.csv")

    @property
    def caption_features(self) -> str:
        return self.captions("features.h5")

    @property
    def vocabulary(self) -> str:
        return self.captions("vocab.json")

    @property
    def captioner(self) -> str:
        return self.captions("captioner.pt")

    @property
    def menu(self) -> str:
        return self.pizza("menu.csv")

    @property
    def recipes(self) -> str:
        return self.pizza("recipes.json")

    @property
    def pizza_manifest(self) -> str:
        return self.pizza("images/manifest.csv")

    @staticmethod
    def ratings() -> str:
        """The people's judgements of the app's Rate page (SQLite): made by ``neta serve``, not by a rule;
        its place does not depend on the config."""
        return Layout.results("ratings.sqlite")

    def generator(self, kind: str, suffix: str = ".pt") -> str:
        """A file of a pizza generator kind (a name of :data:`neta.pizza.kinds.KINDS`): its checkpoint,
        or ``_log.csv``, ``_loss.png``, ``_progress.gif``."""
        return self.pizza(f"{kind}{suffix}")

    @staticmethod
    def relative(path: str) -> str:
        """``path`` relative to the results folder (``results/hiragana/model.pt`` -> ``hiragana/model.pt``)."""
        return str(PurePosixPath(path).relative_to(RESULTS))
