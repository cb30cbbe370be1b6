"""Conditional VAE (Sohn et al. 2015): encoder and decoder both read the digit's label.

Because the decoder is told which digit to draw, the code is free to hold style (slant, stroke
width); decoding one code with each label draws the same style as every digit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ae_core.models.base import HIDDEN_SIZES
from ae_core.models.vae import BETA, FREE_BITS, VAE
from ae_core.registry import Setting, register


@register("cvae", "Conditional VAE (encoder and decoder read the digit's label)", settings=(
    HIDDEN_SIZES, BETA, FREE_BITS,
    Setting("num_classes", int, 10, "how many labels the model is conditioned on",
            label="Classes", bounds=(2, 1000)),
))
class ConditionalVAE(VAE):
    """The MLP VAE with a one-hot label appended to the encoder's and the decoder's input.

    Its loss is the negative conditional ELBO (Sohn et al. 2015, eq. 4) and its prior N(0, I):
    the prior does not depend on the label, so both are the VAE's.
    """

    is_conditional = True

    @property
    def label_size(self) -> int:
        return self.config.num_classes

    def with_label(self, values: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return torch.cat([values, self.one_hot(labels, values)], dim=1)

    def one_hot(self, labels: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """(B,) int labels -> (B, num_classes) one-hot in `like`'s dtype and device.

        A single label is repeated for the whole batch (one class for a grid of codes).
        """
        if labels is None:
            raise ValueError("cvae is conditioned on the digit: pass labels, a (B,) int64 "
                             "tensor of classes, to encode/decode/embed/forward")
        labels = torch.as_tensor(labels, device=like.device).long().reshape(-1)
        batch = like.shape[0]
        if labels.numel() == 1:
            labels = labels.expand(batch)
        if labels.numel() != batch:
            raise ValueError(f"got {labels.numel()} labels for a batch of {batch}")
        classes = self.config.num_classes
        if labels.numel() and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(f"labels must be classes in 0..{classes - 1}")
        return F.one_hot(labels, classes).to(like.dtype)
