"""The hiragana recognizer's models: the TensorFlow "expert" tutorial CNN (the seed's, reproduced), a
softmax baseline, and a batch-normalised CNN (``hiragana.model: bn_cnn``, the stronger option).

All take a float batch ``(N, 1, S, S)`` in [0, 1] with ink high and return logits ``(N, C)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class HiraganaCNN(nn.Module):
    """conv 5x5 SAME ReLU -> pool 2 -> conv 5x5 SAME ReLU -> pool 2 -> fc ReLU -> dropout -> fc.

    The dropout rate is not fixed at construction: the original changed its keep-probability during
    training, so :meth:`forward` takes ``drop_p`` (= 1 - keep_prob) every step.

    The configurable sizes and initialisation have no defaults here (the config schema holds them);
    the layer widths are the tutorial's fixed architecture.
    """

    def __init__(
        self,
        *,
        n_classes: int,
        size: int,
        init_std: float,
        bias_init: float,
        conv1: int = 32,
        conv2: int = 64,
        hidden: int = 1024,
    ) -> None:
        super().__init__()
        if size % 4:
            raise ValueError(f"size must be a multiple of 4 (two 2x2 poolings), got {size}")
        self.arch = {
            "n_classes": int(n_classes),
            "conv1": int(conv1),
            "conv2": int(conv2),
            "hidden": int(hidden),
            "init_std": float(init_std),
            "bias_init": float(bias_init),
            "size": int(size),
        }
        self.conv1 = nn.Conv2d(1, conv1, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(conv1, conv2, kernel_size=5, padding=2)
        self.flat_features = conv2 * (size // 4) ** 2
        self.fc1 = nn.Linear(self.flat_features, hidden)
        self.fc2 = nn.Linear(hidden, n_classes)
        self._init_parameters(init_std, bias_init)

    def _init_parameters(self, init_std: float, bias_init: float) -> None:
        # As tf.truncated_normal: redraw anything beyond two standard deviations.
        for layer in (self.conv1, self.conv2, self.fc1, self.fc2):
            nn.init.trunc_normal_(layer.weight, std=init_std, a=-2 * init_std, b=2 * init_std)
            nn.init.constant_(layer.bias, bias_init)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc1(h.flatten(1)))

    def forward(self, x: torch.Tensor, drop_p: float = 0.0) -> torch.Tensor:
        h = self.features(x)
        # keep_prob 1.0 means no dropout at all, and eval mode never drops.
        if self.training and drop_p > 0.0:
            h = F.dropout(h, p=float(drop_p), training=True)
        return self.fc2(h)

    @torch.no_grad()
    def first_layer(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The first-layer filters ``(conv1, 5, 5)`` and their ReLU activations on one image ``(conv1, S, S)``.

        ``image`` is ``(S, S)``, ``(1, S, S)`` or ``(1, 1, S, S)`` in [0, 1].
        """
        x = image.reshape(1, 1, *image.shape[-2:]).to(self.conv1.weight)
        filters = self.conv1.weight[:, 0].detach().cpu()
        activations = F.relu(self.conv1(x))[0].detach().cpu()
        return filters, activations


class BatchNormCNN(nn.Module):
    """Three stages of two 3x3 conv -> batch norm -> ReLU, max-pooled between them, average pooling to
    a ``pool`` x ``pool`` grid, dropout, one linear layer (``hiragana.model: bn_cnn``).

    Against the tutorial CNN: batch norm lets a few thousand steps at a high learning rate converge,
    and averaging over positions instead of a 3-million-weight dense layer on every pixel leaves it
    far less to memorise of the synthetic writers' exact placement, so it carries better to writers
    and styles it never saw. Averaging over a coarse grid rather than the whole image keeps where a
    feature is, roughly: a voicing mark belongs at the top right, and a tick elsewhere is not one.
    ``widths`` are the three stages' channels. ``stride`` is the first convolution's: with 2 it reads
    a fine image (56 pixels, where a dakuten's two strokes stay apart) and the rest works at half that
    side, at the cost of a 28-pixel network.
    """

    def __init__(self, *, n_classes: int, size: int, stride: int, widths: tuple[int, int, int] | list[int],
                 pool: int, dropout: float) -> None:
        super().__init__()
        if size % (4 * stride):
            raise ValueError(f"size must be a multiple of {4 * stride} (a stride-{stride} first convolution, "
                             f"then two 2x2 poolings), got {size}")
        widths = [int(w) for w in widths]
        if len(widths) != 3:
            raise ValueError(f"widths: expected three stage widths, got {widths}")
        self.arch = {"n_classes": int(n_classes), "size": int(size), "stride": int(stride), "widths": widths,
                     "pool": int(pool), "dropout": float(dropout)}
        layers: list[nn.Module] = []
        channels = 1
        for stage, width in enumerate(widths):
            if stage:
                layers.append(nn.MaxPool2d(2))
            for conv in range(2):
                first = not stage and not conv
                # no conv bias: the batch norm's shift replaces it
                layers += [nn.Conv2d(channels, width, 3, stride=stride if first else 1, padding=1, bias=False),
                           nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
                channels = width
        self.body = nn.Sequential(*layers)
        self.pool = int(pool)
        self.dropout = nn.Dropout(float(dropout))
        self.head = nn.Linear(channels * self.pool * self.pool, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(F.adaptive_avg_pool2d(self.body(x), self.pool).flatten(1)))


class SoftmaxRegression(nn.Module):
    """The original's baseline: one linear layer on the flattened pixels, softmax in the loss."""

    def __init__(self, *, n_inputs: int, n_classes: int) -> None:
        super().__init__()
        self.arch = {"n_inputs": int(n_inputs), "n_classes": int(n_classes)}
        self.linear = nn.Linear(n_inputs, n_classes)
        # The tutorial starts W and b at zero; a convex model needs no symmetry breaking.
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Class indices for every row of ``x`` (eval mode, no dropout), in batches to bound memory."""
    was_training = model.training
    model.eval()
    out = [model(x[i : i + batch_size]).argmax(1) for i in range(0, x.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)
