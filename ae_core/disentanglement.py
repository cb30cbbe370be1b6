"""How much each code dimension alone tells about each factor of a digit: the mutual
information matrix and the mutual-information gap (MIG) of Chen, Li, Grosse & Duvenaud,
"Isolating Sources of Disentanglement in VAEs" (NeurIPS 2018), computed as disentanglement_lib
and Morpho-MNIST compute it: codes and continuous factors discretised into 20 equal-width bins,
discrete mutual information, and per factor the gap between the two most informative
dimensions divided by the factor's entropy.

A MIG near 1 means one dimension alone carries the factor and no other does; near 0, the
factor is spread over several dimensions (or none carries it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ae_core.morphometry import MEASUREMENTS

BINS = 20  # disentanglement_lib's default for MIG
FACTORS = (*MEASUREMENTS, "class")


def discretise(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    """(N, K) -> (N, K) bin indices, `bins` equal-width bins per column (NaN: its own bin)."""
    values = np.asarray(values, dtype=float)
    out = np.zeros(values.shape, dtype=np.int64)
    for column in range(values.shape[1]):
        data = values[:, column]
        finite = np.isfinite(data)
        if finite.any():
            edges = np.histogram_bin_edges(data[finite], bins)[:-1]
            out[finite, column] = np.digitize(data[finite], edges)
        out[~finite, column] = bins + 1
    return out


def _entropy(labels: np.ndarray) -> float:
    _, counts = np.unique(labels, return_counts=True)
    share = counts / counts.sum()
    return float(-(share * np.log(share)).sum())


def _mutual_information(first: np.ndarray, second: np.ndarray) -> float:
    """Discrete mutual information of two integer label arrays, in nats."""
    _, first = np.unique(first, return_inverse=True)
    _, second = np.unique(second, return_inverse=True)
    joint = np.zeros((first.max() + 1, second.max() + 1))
    np.add.at(joint, (first, second), 1.0)
    joint /= joint.sum()
    outer = joint.sum(axis=1, keepdims=True) @ joint.sum(axis=0, keepdims=True)
    seen = joint > 0
    return float((joint[seen] * np.log(joint[seen] / outer[seen])).sum())


@dataclass(frozen=True)
class Disentanglement:
    """Per dimension and factor, what one dimension alone tells; per factor, the gap."""

    factors: tuple[str, ...]
    information: np.ndarray  # (D, K) mutual information of dimension d and factor k, nats
    entropy: np.ndarray  # (K,) each factor's entropy, nats
    gaps: np.ndarray  # (K,) MIG of each factor
    best: np.ndarray  # (K,) the most informative dimension of each factor

    @property
    def normalised(self) -> np.ndarray:
        """(D, K) information as a share of each factor's entropy (0..1)."""
        return self.information / np.maximum(self.entropy, 1e-12)

    @property
    def mig(self) -> float:
        """The mean gap over the factors: the MIG score of the model."""
        return float(self.gaps.mean())


def measure_disentanglement(codes: np.ndarray, measurements: np.ndarray,
                            labels: np.ndarray | None = None,
                            bins: int = BINS) -> Disentanglement:
    """(N, D) codes, (N, 6) measurements [, (N,) classes] -> Disentanglement (MIG)."""
    codes = np.asarray(codes, dtype=float)
    factors = discretise(measurements, bins)
    names = tuple(MEASUREMENTS[:measurements.shape[1]])
    if labels is not None:
        factors = np.concatenate([factors, np.asarray(labels).reshape(-1, 1)], axis=1)
        names = (*names, "class")
    binned = discretise(codes, bins)
    information = np.array([[_mutual_information(binned[:, d], factors[:, k])
                             for k in range(factors.shape[1])] for d in range(codes.shape[1])])
    entropy = np.array([_entropy(factors[:, k]) for k in range(factors.shape[1])])
    ranked = np.sort(information, axis=0)[::-1]
    second = ranked[1] if len(ranked) > 1 else np.zeros(len(entropy))
    gaps = (ranked[0] - second) / np.maximum(entropy, 1e-12)
    return Disentanglement(names, information, entropy, gaps, information.argmax(axis=0))


@dataclass(frozen=True)
class SweepRow:
    """One beta of a sweep: how disentangled its codes are and what that cost."""

    beta: float
    seed: int
    mig: float  # mean gap over the factors
    gaps: dict[str, float]  # per factor
    active_dimensions: int  # mean KL above 0.01 nats
    recon_loss: float  # reconstruction term per digit on the measured images, nats
    kl: float  # nats per digit


def beta_sweep(images: torch.Tensor, labels: torch.Tensor, measurements: np.ndarray,
               betas: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0), latent_dim: int = 10,
               epochs: int = 20, hidden_sizes: tuple[int, ...] = (256,),
               dataset: str = "mnist-embedded", seeds: tuple[int, ...] = (0,),
               progress=None) -> list[SweepRow]:
    """Train one MLP VAE per beta and seed on `dataset` and measure the MIG of its mean codes
    of (N, 1, 28, 28) `images`, whose (N, 6) `measurements` are given."""
    from ae_core.config import ModelConfig, TrainConfig
    from ae_core.latent import encode_dataset
    from ae_core.models.vae import per_dimension_kl, unused_dimensions
    from ae_core.train import evaluate_terms, train_model

    rows = []
    for beta, seed in ((beta, seed) for beta in betas for seed in seeds):
        config = ModelConfig(family="vae", latent_dim=latent_dim, hidden_sizes=hidden_sizes,
                             beta=beta)
        result = train_model(config, TrainConfig(epochs=epochs, dataset=dataset, seed=seed))
        model = result.model.eval()
        codes = encode_dataset(model, images, labels).codes.numpy()
        scores = measure_disentanglement(codes, measurements, labels.numpy())
        kl = per_dimension_kl(model, images, labels)
        torch.manual_seed(0)  # the ELBO's sample
        terms = evaluate_terms(model, images, labels)
        rows.append(SweepRow(beta, seed, scores.mig, dict(zip(scores.factors, scores.gaps.tolist(),
                                                        strict=True)),
                             latent_dim - len(unused_dimensions(kl)), terms["recon_loss"],
                             float(kl.sum())))
        if progress is not None:
            progress(rows[-1])
    return rows


def sweep_markdown(rows: list[SweepRow]) -> str:
    """The table docs/disentanglement.md holds: a row per beta and seed."""
    factors = list(rows[0].gaps)
    lines = ["| beta | seed | MIG (mean) | " + " | ".join(factors) + " | active dims | "
             "recon (nats) | KL (nats) |",
             "|---:|---:|---:|" + "---:|" * len(factors) + "---:|---:|---:|"]
    for row in rows:
        gaps = " | ".join(f"{row.gaps[name]:.3f}" for name in factors)
        lines.append(f"| {row.beta:g} | {row.seed} | **{row.mig:.3f}** | {gaps} | "
                     f"{row.active_dimensions} | {row.recon_loss:.1f} | {row.kl:.1f} |")
    return "\n".join(lines) + "\n"


def sweep_summary(rows: list[SweepRow]) -> dict[float, tuple[float, float, float]]:
    """beta -> (mean MIG, lowest, highest) over its seeds."""
    summary = {}
    for beta in dict.fromkeys(row.beta for row in rows):
        migs = [row.mig for row in rows if row.beta == beta]
        summary[beta] = (float(np.mean(migs)), min(migs), max(migs))
    return summary
