"""New digits from a model: its prior at a temperature, or a Gaussian fitted to its codes.

Pure functions on tensors under inference mode; a seed makes every draw reproducible.

Temperature scales the prior's spread about its mode (each family's `sample_prior` says what
that means for its prior): 1 is the prior the model was trained towards, 0 its mode (every draw
the same), in between the typical digits, above 1 the rarer ones. For a VQ-VAE's categorical
priors (its learned autoregressive one, ae_core.vq_prior, or independent positions) it is the
usual softmax temperature, p^(1/T) renormalised at each position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ae_core.latent import decode_codes, sample_codes
from ae_core.models import Autoencoder, family_title

PRIOR = "prior"
FITTED = "fitted"  # a Gaussian fitted to the codes of real digits


@dataclass
class Samples:
    """Decoded draws and how they were made."""

    images: torch.Tensor  # (S, 1, 28, 28) in [0, 1], on the CPU
    codes: torch.Tensor  # (S, D) the codes decoded
    labels: torch.Tensor | None  # (S,) classes a conditional model drew, else None
    columns: int  # grid columns; with every class, one row per class
    source: str  # PRIOR or FITTED
    note: str  # one line on where the codes came from


def no_prior_reason(model: Autoencoder) -> str:
    """Why `model` cannot be sampled from its prior, in one line."""
    return (f"This {family_title(model.family)} has no prior (training never pushed its codes "
            f"towards a known distribution, so a code of a chosen law may land in a hole): these "
            f"digits come from a Gaussian fitted to the codes of real digits instead.")


def check_temperature(temperature: float) -> None:
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature={temperature!r} must be a finite number >= 0")


@torch.inference_mode()
def draw_codes(model: Autoencoder, count: int, temperature: float = 1.0, seed: int = 0,
               codes: torch.Tensor | None = None) -> tuple[torch.Tensor, str]:
    """`count` codes -> ((count, D) codes on the CPU, PRIOR or FITTED).

    The model's prior when it has one; otherwise a Gaussian fitted to `codes` (N, D), the
    codes of real digits, which must then be given. The same seed gives the same codes.
    """
    check_temperature(temperature)
    if count < 1:
        raise ValueError(f"count={count!r} must be at least 1")
    generator = torch.Generator().manual_seed(int(seed))
    if model.has_prior:
        return model.sample_prior(count, generator, temperature).cpu(), PRIOR
    if codes is None or len(codes) < 2:
        raise ValueError(f"This {family_title(model.family)} has no prior: pass the codes of "
                         f"at least two real digits to fit a Gaussian to")
    return sample_codes(codes, count, generator, temperature), FITTED


@torch.inference_mode()
def sample_digits(model: Autoencoder, count: int, temperature: float = 1.0, seed: int = 0,
                  codes: torch.Tensor | None = None, digit_class: int | None = None,
                  every_class: bool = False, columns: int | None = None) -> Samples:
    """`count` new digits: images (count, 1, 28, 28) with their codes.

    A conditional model draws them as `digit_class`, or with `every_class` draws `columns`
    codes (default 8) and decodes each as every class: one row per class, the same code (the
    same style) down each column, count = classes x columns. Others ignore both. `codes`
    (N, D) of real digits are needed only by models without a prior (see `draw_codes`).
    """
    labels = None
    if model.is_conditional:
        classes = model.config.num_classes
        if every_class:
            columns = columns or 8
            drawn, source = draw_codes(model, columns, temperature, seed, codes)
            codes_out = drawn.repeat(classes, 1)  # (classes * columns, D), class-major
            labels = torch.arange(classes).repeat_interleave(columns)
        else:
            if digit_class is None or not 0 <= int(digit_class) < classes:
                raise ValueError(f"{model.family} is conditional: choose a class in "
                                 f"0..{classes - 1} (or every class)")
            codes_out, source = draw_codes(model, count, temperature, seed, codes)
            labels = torch.full((count,), int(digit_class), dtype=torch.long)
    else:
        codes_out, source = draw_codes(model, count, temperature, seed, codes)
    if columns is None:
        columns = math.ceil(math.sqrt(len(codes_out)))
    images = decode_codes(model, codes_out, labels)
    if source == PRIOR:
        note = f"Drawn from the prior {model.prior_name} at temperature {temperature:g}."
    else:
        note = no_prior_reason(model)
    return Samples(images, codes_out, labels, columns, source, note)
