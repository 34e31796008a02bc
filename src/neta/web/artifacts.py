"""Where the app finds each artifact under results/, and the command that builds one that is missing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from neta.layout import RESULTS, Layout
from neta.pizza.kinds import GENERATOR_KINDS

BUILD = "snakemake --cores 2"  # what a missing file's message tells to run, from the repository root


@dataclass(frozen=True)
class Artifacts:
    """The files the app reads, relative to the results folder, for the configuration it serves
    (:class:`neta.layout.Layout`): with ``captioner.dataset: coco`` the captioner is looked for where
    the workflow writes it, under ``captions/coco/``."""

    bokes: str
    bokete_manifest: str
    captions: str
    caption_photos: str
    features: str
    vocab: str
    captioner: str
    etl: str
    hiragana: str
    menu: str
    recipes: str
    pizza_manifest: str
    ratings: str  # written by the app itself (the Rate page), read by its Results page
    generators: tuple[tuple[str, str], ...]  # (checkpoint, label) in the order the page shows them

    @classmethod
    def of(cls, layout: Layout) -> Artifacts:
        name = layout.relative
        return cls(bokes=name(layout.bokes), bokete_manifest=name(layout.bokete_manifest),
                   captions=name(layout.caption_table), caption_photos=name(layout.caption_photos),
                   features=name(layout.caption_features), vocab=name(layout.vocabulary),
                   captioner=name(layout.captioner), etl=name(layout.etl), hiragana=name(layout.hiragana_model),
                   menu=name(layout.menu), recipes=name(layout.recipes), pizza_manifest=name(layout.pizza_manifest),
                   ratings=name(layout.ratings()),
                   generators=tuple((name(layout.generator(kind.name)), kind.label) for kind in GENERATOR_KINDS))


class StageMissing(Exception):
    """An artifact the request needs is not built yet: the page shows, the API answers 503 with, the command."""

    def __init__(self, names: list[str]) -> None:
        self.targets = [f"{RESULTS}/{name}" for name in names]
        self.command = f"{BUILD} {' '.join(self.targets)}"
        super().__init__(f"not built yet: {', '.join(self.targets)}; build it with `{self.command}`")


class StageBroken(Exception):
    """An artifact exists but cannot be read (the loader's NetaError): 503 with the message and the rebuild command."""

    def __init__(self, message: str, names: list[str]) -> None:
        self.targets = [f"{RESULTS}/{name}" for name in names]
        self.command = f"{BUILD} --force {' '.join(self.targets)}"
        super().__init__(f"{message}; rebuild it with `{self.command}`")


class Results:
    """The results/ folder the app reads (any folder laid out like the workflow's results/)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    def path(self, name: str) -> Path:
        return self.root / name

    def missing(self, *names: str) -> list[str]:
        return [name for name in names if not self.path(name).is_file()]

    def require(self, *names: str) -> list[Path]:
        """The paths of ``names``; StageMissing naming every one not built."""
        missing = self.missing(*names)
        if missing:
            raise StageMissing(missing)
        return [self.path(name) for name in names]

    def stamp(self, *names: str) -> tuple:
        """What identifies the current version of these files: a file rebuilt gives another stamp."""
        stamps = []
        for name in names:
            try:
                info = self.path(name).stat()
            except FileNotFoundError:
                raise StageMissing([name]) from None
            stamps.append((name, info.st_mtime_ns, info.st_size))
        return tuple(stamps)
