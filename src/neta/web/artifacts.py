"""Where the app finds each artifact under results/, and the command that builds one that is missing."""

from __future__ import annotations

import os
from pathlib import Path

BUILD = "snakemake --cores 2"  # what a missing file's message tells to run, from the repository root

# artifact -> its path under results/ (the workflow always writes to results/)
BOKES = "bokete/bokes.csv"
BOKETE_MANIFEST = "bokete/images/manifest.csv"
CAPTIONS = "bokete/captions.csv"
FEATURES = "bokete/features.h5"
VOCAB = "bokete/vocab.json"
CAPTIONER = "bokete/captioner.pt"
ETL = "hiragana/etl_28.h5"
HIRAGANA = "hiragana/model.pt"
MENU = "pizza/menu.csv"
RECIPES = "pizza/recipes.json"
PIZZA_MANIFEST = "pizza/images/manifest.csv"
# the pizza generators in the order the page shows them: (checkpoint, label)
GENERATORS = (
    ("pizza/cvae_a.pt", "CVAE A (recipe after the convolutions)"),
    ("pizza/cvae_b.pt", "CVAE B (recipe as an extra channel)"),
    ("pizza/gan.pt", "DCGAN"),
    ("pizza/cvae_gan.pt", "CVAE-GAN"),
)


class StageMissing(Exception):
    """An artifact the request needs is not built yet: the page shows, the API answers 503 with, the command."""

    def __init__(self, names: list[str]) -> None:
        self.targets = [f"results/{name}" for name in names]
        self.command = f"{BUILD} {' '.join(self.targets)}"
        super().__init__(f"not built yet: {', '.join(self.targets)}; build it with `{self.command}`")


class StageBroken(Exception):
    """An artifact exists but cannot be read (the loader's NetaError): 503 with the message and the rebuild command."""

    def __init__(self, message: str, names: list[str]) -> None:
        self.targets = [f"results/{name}" for name in names]
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
