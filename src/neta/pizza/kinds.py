"""The pizza generator kinds: one table that the models, training, evaluation, the workflow and the app read.

Pure data (no torch), so the Snakefile and the app's page code can read it without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GeneratorKind:
    name: str  # the checkpoint's kind and its file stem (cvae_a -> cvae_a.pt)
    section: str  # pizza.models.<section>: its epochs, batch size and learning rate; also its model family
    label: str  # how pages and figures name it
    short: str  # the same in a few letters (figure headers, the report)
    conditioning: str | None = None  # a CVAE's recipe input: after the convolutions, or an extra channel

    @property
    def checkpoint(self) -> str:
        return f"{self.name}.pt"

    @property
    def has_encoder(self) -> bool:
        """It encodes images: validation losses, reconstructions and style transfer apply."""
        return self.section in ("cvae", "cvae_original", "cvae_gan")

    @property
    def adversarial(self) -> bool:
        """It is trained against a discriminator."""
        return self.section in ("gan", "cvae_gan")


GENERATOR_KINDS = (
    GeneratorKind("cvae_a", "cvae", "CVAE A (recipe after the convolutions)", "CVAE-A", conditioning="after_conv"),
    GeneratorKind("cvae_b", "cvae", "CVAE B (recipe as an extra channel)", "CVAE-B", conditioning="channel"),
    GeneratorKind("cvae_original", "cvae_original", "CVAE as published (latent 512, dense 1024)", "CVAE-orig",
                  conditioning="after_conv"),
    GeneratorKind("gan", "gan", "DCGAN", "DCGAN"),
    GeneratorKind("cvae_gan", "cvae_gan", "CVAE-GAN", "CVAE-GAN"),
)
KINDS = tuple(kind.name for kind in GENERATOR_KINDS)
CVAE_VARIANTS = {kind.name.removeprefix("cvae_"): kind.name for kind in GENERATOR_KINDS if kind.section == "cvae"}


def generator_kind(name: str) -> GeneratorKind:
    for kind in GENERATOR_KINDS:
        if kind.name == name:
            return kind
    raise ValueError(f"unknown pizza model kind {name!r}; one of {', '.join(KINDS)}")
