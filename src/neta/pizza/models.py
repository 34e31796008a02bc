"""The recipe-conditioned pizza generators: two CVAEs, a DCGAN and a CVAE-GAN, with one interface.

Every model takes images as float ``(B, 3, S, S)`` in [0, 1] (S = 32 or 64, a multiple of 8) and
recipes as the one-hot ``(B, slots, classes)`` matrices of ``augmented.h5`` (any dtype; class 0 is
the empty slot), and offers ``encode``, ``decode``, ``sample``, ``generate`` and ``loss_function``
(a dict of named terms), as AntixK's PyTorch-VAE collection does. Layer stacks follow the original
Keras models (docs/architecture.md, "What the originals did"); what differs is said where it is built.

Discriminators return logits: the sigmoid of the original's last layer lives inside the losses
(``binary_cross_entropy_with_logits``), which is the same function without its overflow.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from neta.errors import NetaError
from neta.pizza.config import ARCHITECTURE_KEYS
from neta.pizza.kinds import generator_kind

CONDITIONINGS = ("after_conv", "channel")


def _check_size(image_size: int) -> None:
    # three 2x poolings (discriminator) and three 2x transposed convolutions (generator)
    if image_size < 8 or image_size % 8:
        raise ValueError(f"image_size must be a positive multiple of 8 (e.g. 32 or 64), got {image_size}")


def _flat(recipes: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """One-hot recipes ``(B, slots, classes)`` of any dtype -> float ``(B, slots*classes)`` on ``like``'s device."""
    return recipes.to(device=like.device, dtype=like.dtype).flatten(1)


def _noise(shape: tuple[int, ...], device: torch.device, generator: torch.Generator | None, *, uniform: bool):
    # drawn on the generator's own device (a CPU generator cannot fill a CUDA tensor), then moved
    where = generator.device if generator is not None else device
    if uniform:
        z = torch.rand(shape, generator=generator, device=where).mul_(2).sub_(1)
    else:
        z = torch.randn(shape, generator=generator, device=where)
    return z.to(device)


def recipe_counts(recipes: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """One-hot recipes ``(B, slots, classes)`` -> float ``(B, classes - 1)``: how many slots name each
    ingredient (2 for a double portion), the empty class left out. The slot order carries nothing a picture
    shows, so the compact models see the counts: an unseen combination of known ingredients is then a new
    sum of known inputs, not a one-hot pattern never seen in those slots."""
    return recipes.to(device=like.device, dtype=like.dtype)[:, :, 1:].sum(dim=1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) in nats, summed over latents: ``(B,)``."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def _stages(image_size: int) -> int:
    # stride-2 steps between the image and the 4 x 4 map the dense layers meet
    stages = (image_size // 4).bit_length() - 1
    if 4 << stages != image_size:
        raise ValueError(f"image_size must be 4 times a power of two (16, 32, 64, ...), got {image_size}")
    return stages


class _GaussianCVAE(nn.Module):
    """What both CVAEs share given their ``encode``, ``decode`` and ``latent``: the reparameterised draw
    from q(z | x), the forward pass, the reconstruction through mu and samples of the prior."""

    latent: int

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        eps = _noise(tuple(mu.shape), mu.device, generator, uniform=False)
        return mu + eps * torch.exp(0.5 * logvar)

    def forward(self, images: torch.Tensor, recipes: torch.Tensor, *,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction, mu, logvar), z drawn from q (``generator`` makes the draw repeatable)."""
        mu, logvar = self.encode(images, recipes)
        return self.decode(self.reparameterize(mu, logvar, generator), recipes), mu, logvar

    def generate(self, images: torch.Tensor, recipes: torch.Tensor) -> torch.Tensor:
        """The reconstruction through mu (no noise): ``images`` seen as the pizza of ``recipes``."""
        mu, _ = self.encode(images, recipes)
        return self.decode(mu, recipes)

    def sample(self, recipes: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """One image a recipe from z ~ N(0, I)."""
        device = next(self.parameters()).device
        z = _noise((recipes.shape[0], self.latent), device, generator, uniform=False)
        return self.decode(z, recipes)


class PizzaCVAE(_GaussianCVAE):
    """The compact conditional VAE of the default run (kinds ``cvae_a``, ``cvae_b`` and the CVAE-GAN's).

    Encoder: stride-2 4x4 convolutions (``width``, 2 ``width``, 4 ``width``, ... channels, LeakyReLU) down
    to 4 x 4 -> flatten -> dense 256 -> mu, logvar (``latent`` each). Decoder: [z, recipe embedding] ->
    dense to the 4 x 4 map -> stride-2 transposed convolutions back to the image, each followed by batch
    norm and a FiLM of the recipe embedding (a per-channel scale and shift) -> 3x3 conv -> sigmoid.

    Why it differs from the original (:class:`OriginalPizzaCVAE`), measured on the default data
    (docs/architecture.md, "Pizza generators"): the original's decoder, given the recipe only at its
    input and z through a 1024-wide dense layer, learned the per-recipe mean pizza and ignored z (KL
    0.003-0.009 nats). Here the recipe modulates every decoder stage, so it cannot be ignored, and a
    small latent (8) is left to what the recipe does not say: the pose. The recipe enters as ingredient
    counts (:func:`recipe_counts`). The reconstruction term is a Gaussian log-likelihood with a fixed
    pixel noise ``pixel_sigma``: squared error / (2 sigma^2), in nats up to a constant.

    ``conditioning`` says where the encoder sees the recipe, as the original's two variants:
    ``"after_conv"`` (CVAE-A) concatenates it to the flattened conv features; ``"channel"`` (CVAE-B) maps
    it linearly to one plane added as an extra channel before the second convolution.
    """

    def __init__(self, *, image_size: int, slots: int, classes: int, latent: int, width: int, embedding: int,
                 pixel_sigma: float, conditioning: str) -> None:
        super().__init__()
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
        stages = _stages(image_size)
        self.arch = {"image_size": int(image_size), "slots": int(slots), "classes": int(classes),
                     "latent": int(latent), "width": int(width), "embedding": int(embedding),
                     "pixel_sigma": float(pixel_sigma), "conditioning": conditioning}
        self.image_size, self.latent, self.conditioning = int(image_size), int(latent), conditioning
        self.pixel_sigma = float(pixel_sigma)
        ingredients = classes - 1
        down = [width * 2 ** i for i in range(stages)]  # channels after each encoder stage
        self.top = down[-1]
        self.downs = nn.ModuleList(
            nn.Conv2d((3 if i == 0 else down[i - 1]) + (conditioning == "channel" and i == 1), down[i], 4, 2, 1)
            for i in range(stages)
        )
        if conditioning == "channel":
            self.half = image_size // 2
            self.recipe_plane = nn.Linear(ingredients, self.half ** 2)
        flat = self.top * 16
        self.enc_dense = nn.Linear(flat + (ingredients if conditioning == "after_conv" else 0), 256)
        self.mu = nn.Linear(256, latent)
        self.logvar = nn.Linear(256, latent)
        self.embed = nn.Linear(ingredients, embedding)
        self.dec_dense = nn.Linear(latent + embedding, flat)
        up = [self.top // 2 ** (i + 1) for i in range(stages)]  # channels after each decoder stage
        self.ups = nn.ModuleList(nn.ConvTranspose2d(self.top if i == 0 else up[i - 1], up[i], 4, 2, 1)
                                 for i in range(stages))
        self.norms = nn.ModuleList(nn.BatchNorm2d(c, affine=False) for c in up)
        self.films = nn.ModuleList(nn.Linear(embedding, 2 * c) for c in up)
        self.out = nn.Conv2d(up[-1], 3, 3, padding=1)

    def encode(self, images: torch.Tensor, recipes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | image, recipe); images float in [0, 1]."""
        counts = recipe_counts(recipes, images)
        h = images * 2 - 1
        for i, conv in enumerate(self.downs):
            if i == 1 and self.conditioning == "channel":
                h = torch.cat([h, self.recipe_plane(counts).view(-1, 1, self.half, self.half)], dim=1)
            h = F.leaky_relu(conv(h), 0.2)
        h = h.flatten(1)
        if self.conditioning == "after_conv":
            h = torch.cat([h, counts], dim=1)
        h = F.leaky_relu(self.enc_dense(h), 0.2)
        return self.mu(h), self.logvar(h)

    def decode(self, z: torch.Tensor, recipes: torch.Tensor) -> torch.Tensor:
        """Images float in [0, 1] from latents ``(B, latent)`` and recipes."""
        e = F.leaky_relu(self.embed(recipe_counts(recipes, z)), 0.2)
        h = F.leaky_relu(self.dec_dense(torch.cat([z, e], dim=1)), 0.2).view(-1, self.top, 4, 4)
        for up, norm, film in zip(self.ups, self.norms, self.films, strict=True):
            scale, shift = film(e)[:, :, None, None].chunk(2, dim=1)
            h = F.leaky_relu(norm(up(h)) * (1 + scale) + shift, 0.2)
        return torch.sigmoid(self.out(h))

    def loss_function(self, reconstruction: torch.Tensor, images: torch.Tensor, mu: torch.Tensor,
                      logvar: torch.Tensor, *, kl_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """``{"loss", "reconstruction", "kl"}``, each a mean over the batch: the squared error summed over
        pixels / (2 pixel_sigma^2), and KL(q || N(0, I)) summed over latents; ``kl_weight`` scales the KL in
        ``loss`` during the warm-up."""
        rec = F.mse_loss(reconstruction, images, reduction="sum") / (2 * self.pixel_sigma ** 2 * images.shape[0])
        kl = gaussian_kl(mu, logvar).mean()
        return {"loss": rec + kl_weight * kl, "reconstruction": rec, "kl": kl}


class OriginalPizzaCVAE(_GaussianCVAE):
    """The original's conditional VAE (kind ``cvae_original``, the reproduction): conv encoder, latent
    Gaussian, conv decoder, both sides given the recipe.

    Encoder: conv 3x3x32 ReLU SAME -> max-pool 2 -> conv 3x3x16 ReLU SAME -> max-pool 2 -> flatten ->
    dense ``dense`` ReLU -> mu, logvar (``latent`` each). Decoder: concat(z, recipe) -> dense ``dense``
    ReLU -> dense 16*(S/4)^2 ReLU -> reshape -> conv 3x3x16 ReLU -> up-sample 2 -> conv 3x3x32 ReLU ->
    up-sample 2 -> conv 3x3x3 sigmoid.

    ``conditioning`` says where the encoder sees the recipe:

    * ``"after_conv"`` (CVAE-A): the flattened recipe is concatenated to the flattened conv features,
      before the dense layer.
    * ``"channel"`` (CVAE-B): a linear map (with bias) of the flattened recipe to one (S/2) x (S/2)
      plane, added as a 33rd channel to the first convolution's pooled output, so the second
      convolution sees it. A learned map, not the matrix resized: a 9 x 28 one-hot matrix does not
      fit in a 16 x 16 plane without merging classes. It costs slots*classes*(S/2)^2 + (S/2)^2
      parameters where CVAE-A's dense layer costs slots*classes*dense more, so at S = 32 CVAE-B is
      the smaller (the original: 4.22 M vs 3.95 M, its channel made without parameters).
    """

    def __init__(self, *, image_size: int, slots: int, classes: int, latent: int, dense: int,
                 conditioning: str) -> None:
        super().__init__()
        _check_size(image_size)
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
        self.arch = {"image_size": int(image_size), "slots": int(slots), "classes": int(classes),
                     "latent": int(latent), "dense": int(dense), "conditioning": conditioning}
        self.image_size, self.latent, self.conditioning = int(image_size), int(latent), conditioning
        recipe = slots * classes
        quarter = image_size // 4
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32 + (conditioning == "channel"), 16, 3, padding=1)
        if conditioning == "channel":
            self.recipe_plane = nn.Linear(recipe, (image_size // 2) ** 2)
        flat = 16 * quarter * quarter
        self.enc_dense = nn.Linear(flat + (recipe if conditioning == "after_conv" else 0), dense)
        self.mu = nn.Linear(dense, latent)
        self.logvar = nn.Linear(dense, latent)
        self.dec_dense1 = nn.Linear(latent + recipe, dense)
        self.dec_dense2 = nn.Linear(dense, flat)
        self.dec_conv1 = nn.Conv2d(16, 16, 3, padding=1)
        self.dec_conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.dec_conv3 = nn.Conv2d(32, 3, 3, padding=1)

    def encode(self, images: torch.Tensor, recipes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | image, recipe); images float in [0, 1]."""
        flat_recipe = _flat(recipes, images)
        h = F.max_pool2d(F.relu(self.conv1(images)), 2)
        if self.conditioning == "channel":
            half = self.image_size // 2
            h = torch.cat([h, self.recipe_plane(flat_recipe).view(-1, 1, half, half)], dim=1)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2).flatten(1)
        if self.conditioning == "after_conv":
            h = torch.cat([h, flat_recipe], dim=1)
        h = F.relu(self.enc_dense(h))
        return self.mu(h), self.logvar(h)

    def decode(self, z: torch.Tensor, recipes: torch.Tensor) -> torch.Tensor:
        """Images float in [0, 1] from latents ``(B, latent)`` and recipes."""
        h = F.relu(self.dec_dense1(torch.cat([z, _flat(recipes, z)], dim=1)))
        quarter = self.image_size // 4
        h = F.relu(self.dec_dense2(h)).view(-1, 16, quarter, quarter)
        h = F.interpolate(F.relu(self.dec_conv1(h)), scale_factor=2, mode="nearest")
        h = F.interpolate(F.relu(self.dec_conv2(h)), scale_factor=2, mode="nearest")
        return torch.sigmoid(self.dec_conv3(h))

    def loss_function(self, reconstruction: torch.Tensor, images: torch.Tensor, mu: torch.Tensor,
                      logvar: torch.Tensor, *, kl_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """``{"loss", "reconstruction", "kl"}``: binary cross-entropy summed over pixels and KL(q || N(0, I))
        summed over latents, each a mean over the batch, as the original Keras CVAE's loss
        (``kl_weight`` scales the KL in ``loss`` during a warm-up; the original had none)."""
        rec = F.binary_cross_entropy(reconstruction, images, reduction="sum") / images.shape[0]
        kl = gaussian_kl(mu, logvar).mean()
        return {"loss": rec + kl_weight * kl, "reconstruction": rec, "kl": kl}


class PizzaGenerator(nn.Module):
    """DCGAN generator: [z, recipe] -> dense 4w*(S/8)^2 ReLU -> reshape -> transposed conv 5x5 stride 2
    with 4w, 2w, w filters ReLU -> conv 5x5 x3 -> tanh (output in [-1, 1]).

    ``width`` w = 64 is the original's 256/128/64. Batch norm after the dense layer and each transposed
    convolution (the DCGAN paper's; the original does not list it) keeps a few epochs of training stable.
    """

    def __init__(self, *, image_size: int, z_dim: int, recipe: int, width: int) -> None:
        super().__init__()
        self.eighth = image_size // 8
        self.top = 4 * width
        self.dense = nn.Linear(z_dim + recipe, self.top * self.eighth ** 2)
        self.bn0 = nn.BatchNorm1d(self.top * self.eighth ** 2)
        chans = [self.top, 4 * width, 2 * width, width]
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(chans[i], chans[i + 1], 5, stride=2, padding=2, output_padding=1) for i in range(3)
        )
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in chans[1:])
        self.out = nn.Conv2d(width, 3, 5, padding=2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn0(self.dense(z))).view(-1, self.top, self.eighth, self.eighth)
        for up, bn in zip(self.ups, self.bns, strict=True):
            h = F.relu(bn(up(h)))
        return torch.tanh(self.out(h))


class PizzaDiscriminator(nn.Module):
    """conv 5x5 x2w LeakyReLU -> max-pool 2 -> x4w -> pool -> x8w -> pool -> flatten [+ recipe] ->
    dense 32w LeakyReLU -> dense 1 (a logit). ``width`` w = 64 is the original's 128/256/512/2048.

    Takes images in [0, 1] and scales them to the generator's [-1, 1] itself. With ``spread`` (ProGAN's
    minibatch standard deviation, not in the original) the last feature map gains one plane holding how
    much the batch's features differ from each other: a generator that draws the same pizza for every z
    is then told apart from real batches. Without it the default run's DCGAN drew one identical pizza a
    recipe.
    """

    def __init__(self, *, image_size: int, recipe: int, width: int, spread: bool = True) -> None:
        super().__init__()
        chans = [3, 2 * width, 4 * width, 8 * width]
        self.convs = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 5, padding=2) for i in range(3))
        self.recipe, self.spread = recipe, bool(spread)
        self.dense = nn.Linear((8 * width + self.spread) * (image_size // 8) ** 2 + recipe, 32 * width)
        self.out = nn.Linear(32 * width, 1)

    def forward(self, images: torch.Tensor, recipes: torch.Tensor | None = None) -> torch.Tensor:
        h = images * 2 - 1
        for conv in self.convs:
            h = F.max_pool2d(F.leaky_relu(conv(h), 0.2), 2)
        if self.spread:
            spread = h.std(dim=0, unbiased=False).mean() if h.shape[0] > 1 else h.new_zeros(())
            h = torch.cat([h, spread.expand(h.shape[0], 1, *h.shape[2:])], dim=1)
        h = h.flatten(1)
        if self.recipe:
            h = torch.cat([h, _flat(recipes, h)], dim=1)
        return self.out(F.leaky_relu(self.dense(h), 0.2)).squeeze(1)


def _bce(scores: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(scores, torch.full_like(scores, target))


class PizzaDCGAN(nn.Module):
    """DCGAN with z ~ U(-1, 1); with ``conditioned`` the generator and the discriminator also see the
    flattened recipe (concatenated to z, and to the discriminator's conv features)."""

    def __init__(self, *, image_size: int, slots: int, classes: int, z_dim: int, conditioned: bool,
                 width: int) -> None:
        super().__init__()
        _check_size(image_size)
        self.arch = {"image_size": int(image_size), "slots": int(slots), "classes": int(classes),
                     "z_dim": int(z_dim), "conditioned": bool(conditioned), "width": int(width)}
        self.z_dim, self.conditioned = int(z_dim), bool(conditioned)
        recipe = slots * classes if conditioned else 0
        self.generator = PizzaGenerator(image_size=image_size, z_dim=z_dim, recipe=recipe, width=width)
        self.discriminator = PizzaDiscriminator(image_size=image_size, recipe=recipe, width=width)

    def decode(self, z: torch.Tensor, recipes: torch.Tensor) -> torch.Tensor:
        """Images float in [0, 1] (the tanh output mapped) from noise ``(B, z_dim)``."""
        if self.conditioned:
            z = torch.cat([z, _flat(recipes, z)], dim=1)
        return (self.generator(z) + 1) / 2

    def noise(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``count`` draws of z ~ U(-1, 1)^z_dim on the model's device."""
        return _noise((count, self.z_dim), next(self.parameters()).device, generator, uniform=True)

    def sample(self, recipes: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decode(self.noise(recipes.shape[0], generator), recipes)

    def generate(self, images: torch.Tensor, recipes: torch.Tensor) -> torch.Tensor:
        """A GAN has no encoder: samples for ``recipes`` (``images`` only fixes nothing but the call shape)."""
        return self.sample(recipes)

    def encode(self, images: torch.Tensor, recipes: torch.Tensor):
        raise NetaError("a GAN has no encoder: it cannot reconstruct or re-dress a given pizza; "
                        "use a CVAE (cvae_a, cvae_b, cvae_original or cvae_gan) for reconstructions and style transfer")

    def discriminate(self, images: torch.Tensor, recipes: torch.Tensor) -> torch.Tensor:
        """Logits, real > 0; images in [0, 1]."""
        return self.discriminator(images, recipes if self.conditioned else None)

    def loss_function(self, real_scores: torch.Tensor | None, fake_scores: torch.Tensor, *,
                      for_generator: bool) -> dict[str, torch.Tensor]:
        """``{"g_loss"}``: fakes labelled real; or ``{"d_loss"}``: the mean of real->1 and fake->0 cross-entropies."""
        if for_generator:
            return {"g_loss": _bce(fake_scores, 1.0)}
        return {"d_loss": (_bce(real_scores, 1.0) + _bce(fake_scores, 0.0)) / 2}


class PizzaCVAEGAN(nn.Module):
    """The compact CVAE-A whose decoder is also a GAN generator: a recipe-conditioned discriminator (filter
    width ``discriminator_width``) tells real images from reconstructions and from samples of the prior,
    and the VAE loss gains ``adversarial_weight`` x the generator's cross-entropy on both kinds of fake."""

    def __init__(self, *, image_size: int, slots: int, classes: int, latent: int, width: int, embedding: int,
                 pixel_sigma: float, adversarial_weight: float, discriminator_width: int) -> None:
        super().__init__()
        self.cvae = PizzaCVAE(image_size=image_size, slots=slots, classes=classes, latent=latent, width=width,
                              embedding=embedding, pixel_sigma=pixel_sigma, conditioning="after_conv")
        self.arch = {**{k: v for k, v in self.cvae.arch.items() if k != "conditioning"},
                     "adversarial_weight": float(adversarial_weight), "discriminator_width": int(discriminator_width)}
        self.adversarial_weight = float(adversarial_weight)
        self.discriminator = PizzaDiscriminator(image_size=image_size, recipe=slots * classes,
                                                width=discriminator_width)

    def encode(self, images, recipes):
        return self.cvae.encode(images, recipes)

    def decode(self, z, recipes):
        return self.cvae.decode(z, recipes)

    def forward(self, images, recipes, *, generator=None):
        return self.cvae(images, recipes, generator=generator)

    def generate(self, images, recipes):
        return self.cvae.generate(images, recipes)

    def sample(self, recipes, *, generator=None):
        return self.cvae.sample(recipes, generator=generator)

    def discriminate(self, images: torch.Tensor, recipes: torch.Tensor) -> torch.Tensor:
        return self.discriminator(images, recipes)

    def loss_function(self, reconstruction: torch.Tensor, images: torch.Tensor, mu: torch.Tensor,
                      logvar: torch.Tensor, *, kl_weight: float = 1.0,
                      fake_scores: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The VAE/generator step: ``{"loss", "reconstruction", "kl", "g_loss"}`` given the discriminator's
        logits on the fakes (reconstructions and prior samples); without them ``{"loss", "reconstruction",
        "kl"}`` as :class:`PizzaCVAE`, e.g. for a validation loss comparable with the CVAEs'."""
        terms = self.cvae.loss_function(reconstruction, images, mu, logvar, kl_weight=kl_weight)
        if fake_scores is None:
            return terms
        g_loss = _bce(fake_scores, 1.0)
        return {**terms, "loss": terms["loss"] + self.adversarial_weight * g_loss, "g_loss": g_loss}

    def discriminator_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> dict[str, torch.Tensor]:
        """The discriminator step: ``{"d_loss"}``, the mean of real->1 and fake->0 cross-entropies."""
        return {"d_loss": (_bce(real_scores, 1.0) + _bce(fake_scores, 0.0)) / 2}


# the model class of each family of generators (GeneratorKind.section)
FAMILY_CLASSES = {"cvae": PizzaCVAE, "cvae_original": OriginalPizzaCVAE, "gan": PizzaDCGAN,
                  "cvae_gan": PizzaCVAEGAN}


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_pizza_model(kind: str, *, image_size: int, slots: int, classes: int, **architecture) -> nn.Module:
    """The model of ``kind`` (one of :data:`neta.pizza.kinds.KINDS`). ``architecture``: the model keywords
    (:func:`neta.pizza.config.architecture_of`); each family takes the ones it uses, the rest are ignored."""
    try:
        family = generator_kind(kind)
    except ValueError as exc:
        raise NetaError(str(exc)) from None
    common = {"image_size": image_size, "slots": slots, "classes": classes}
    wanted = tuple(ARCHITECTURE_KEYS[family.section].values())
    missing = [name for name in wanted if name not in architecture]
    if missing:
        raise NetaError(f"{kind}: the model needs {', '.join(missing)}")
    keywords = {name: architecture[name] for name in wanted}
    if family.conditioning:
        return FAMILY_CLASSES[family.section](**common, **keywords, conditioning=family.conditioning)
    return FAMILY_CLASSES[family.section](**common, **keywords)
