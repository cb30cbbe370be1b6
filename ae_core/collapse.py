"""Posterior collapse and its remedies, measured: for each training variant of a VAE (KL
warm-up, free bits, beta), how many code dimensions stay active and what ELBO it reaches."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import Dataset
from ae_core.models.vae import per_dimension_kl, unused_dimensions
from ae_core.train import evaluate_terms, train_model

INFORMATIVE_KL = 0.1  # nats: a dimension below it tells the decoder next to nothing

# What the learner compares (tutorial 002's remedies), each a change from the plain VAE.
VARIANTS: dict[str, tuple[dict, dict]] = {  # name -> (model settings, training settings)
    "plain VAE (no warm-up)": ({}, {"kl_warmup_epochs": 0}),
    "KL warm-up (5 epochs)": ({}, {"kl_warmup_epochs": 5}),
    "free bits 0.5": ({"free_bits": 0.5}, {"kl_warmup_epochs": 0}),
    "beta 4": ({"beta": 4.0}, {"kl_warmup_epochs": 0}),
    "beta 4 + free bits 0.5": ({"beta": 4.0, "free_bits": 0.5}, {"kl_warmup_epochs": 0}),
}


@dataclass
class CollapseRow:
    variant: str
    active_dimensions: int  # mean KL above ae_core.models.vae.UNUSED_KL_THRESHOLD (0.01 nats)
    informative_dimensions: int  # mean KL above INFORMATIVE_KL: carrying a real share
    latent_dim: int
    neg_elbo: float  # nats per digit on the test digits (single-sample estimate)
    kl: float  # nats per digit


def compare_remedies(test: Dataset, latent_dim: int = 20, epochs: int = 10,
                     hidden_sizes: tuple[int, ...] = (256,), dataset: str = "mnist-embedded",
                     variants: dict[str, tuple[dict, dict]] = VARIANTS) -> list[CollapseRow]:
    """Train one MLP VAE per variant on `dataset` and measure it on `test`."""
    rows = []
    images, labels = test.float_images(), test.labels
    for name, (model_values, train_values) in variants.items():
        config = ModelConfig(family="vae", latent_dim=latent_dim, hidden_sizes=hidden_sizes,
                             **model_values)
        result = train_model(config, TrainConfig(epochs=epochs, dataset=dataset, **train_values))
        model = result.model.eval()
        kl = per_dimension_kl(model, images, labels)
        torch.manual_seed(0)  # the ELBO's sample
        terms = evaluate_terms(model, images, labels)
        rows.append(CollapseRow(name, latent_dim - len(unused_dimensions(kl)),
                                int((kl > INFORMATIVE_KL).sum()), latent_dim,
                                terms["neg_elbo"], float(kl.sum())))
    return rows


def collapse_markdown(rows: list[CollapseRow], scored_on: str) -> str:
    """The table docs/collapse.md holds."""
    lines = [f"Scored on {scored_on}.", "",
             f"| variant | active (KL > 0.01 nats) | informative (KL > {INFORMATIVE_KL} nats) | "
             f"-ELBO (nats) | KL (nats) |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {row.variant} | {row.active_dimensions} of {row.latent_dim} | "
              f"{row.informative_dimensions} of {row.latent_dim} | {row.neg_elbo:.1f} | "
              f"{row.kl:.1f} |" for row in rows]
    return "\n".join(lines) + "\n"
