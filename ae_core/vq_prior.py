"""A learned prior over a VQ-VAE's code grid: p(c) = prod_i p(c_i | c_<i), in raster order.

van den Oord et al. 2017 (sec. 3.3) fit an autoregressive PixelCNN to the codes of the training
images and sample new grids from it; this is the same idea with a tiny causal transformer (a few
ten thousand parameters, about a minute on one CPU core for 4,500 grids of 7x7). Without it a
VQ-VAE's prior draws each position independently from its entry frequencies, which ignores
that neighbouring positions must agree on one stroke: the samples look like noise.

    prior = fit_code_prior(train_codes, CodePriorConfig(codebook_size=64, grid_size=7))
    codes = sample_code_grid(prior, 16, generator, temperature=1.0)  # (16, 49) entries
    bits = bits_per_position(prior, test_codes)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from ae_core.compute import check_prior_cost
from ae_core.meta import on_meta_device

if TYPE_CHECKING:  # a model with a codebook (ae_core.models.vqvae imports this module)
    from ae_core.models import Autoencoder

# The attribute a VQ-VAE keeps its prior under, hence the prefix of its weights in a checkpoint.
ATTRIBUTE = "code_prior"
PREFIX = ATTRIBUTE + "."
METADATA_KEY = "code_prior_config"  # the prior's config, as JSON, in a checkpoint's metadata
# Far above the shipped prior's sizes; a file's header cannot ask for more than this.
MAX_WIDTH, MAX_LAYERS, MAX_HEADS, MAX_CODEBOOK, MAX_GRID = 512, 8, 16, 4096, 28


@dataclass(frozen=True)
class CodePriorConfig:
    """Sizes of a causal transformer over a grid_size x grid_size grid of codebook entries."""

    codebook_size: int
    grid_size: int  # the code grid is grid_size x grid_size, read row by row
    width: int = 48  # size of each position's vector
    layers: int = 2
    heads: int = 4  # attention heads; width must be a multiple
    dropout: float = 0.1  # 4,500 training grids: a little dropout keeps it from memorising

    def __post_init__(self) -> None:
        for name, low, high in (("codebook_size", 2, MAX_CODEBOOK), ("grid_size", 1, MAX_GRID),
                                ("width", 1, MAX_WIDTH), ("layers", 1, MAX_LAYERS),
                                ("heads", 1, MAX_HEADS)):
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"{name}={value!r} must be an integer in {low}..{high}")
        if self.width % self.heads:
            raise ValueError(f"width={self.width} must be a multiple of heads={self.heads}")
        if type(self.dropout) not in (int, float) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout!r} must be a number in [0, 1)")

    @property
    def positions(self) -> int:
        return self.grid_size**2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> CodePriorConfig:
        """A config from its JSON form, refusing unknown or missing fields by name."""
        if not isinstance(values, dict):
            raise ValueError("CodePriorConfig must be a JSON object")
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown CodePriorConfig field(s): {', '.join(unknown)}")
        missing = sorted(names - set(values))
        if missing:
            raise ValueError(f"CodePriorConfig is missing {', '.join(missing)}")
        return cls(**values)


class CodePrior(nn.Module):
    """Logits for each position's entry given the entries before it (raster order)."""

    def __init__(self, config: CodePriorConfig) -> None:
        super().__init__()
        self.config = config
        # One extra token, the start: position 0 reads it, so it is predicted from nothing.
        self.token_embedding = nn.Embedding(config.codebook_size + 1, config.width)
        self.position_embedding = nn.Parameter(0.02 * torch.randn(config.positions, config.width))
        block = nn.TransformerEncoderLayer(config.width, config.heads, 4 * config.width,
                                           config.dropout, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.codebook_size)
        # -inf above the diagonal: position i attends to inputs 0..i, which hold entries < i.
        mask = torch.triu(torch.full((config.positions, config.positions), -math.inf), 1)
        self.register_buffer("causal_mask", mask, persistent=False)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, P) int64 entries -> (B, P, codebook_size) logits; row i reads codes[:, :i] only."""
        start = torch.full((len(codes), 1), self.config.codebook_size, dtype=torch.long,
                           device=codes.device)
        inputs = torch.cat([start, codes[:, :-1]], dim=1)  # shifted right by one
        hidden = self.token_embedding(inputs) + self.position_embedding[:codes.shape[1]]
        length = codes.shape[1]
        hidden = self.blocks(hidden, mask=self.causal_mask[:length, :length], is_causal=True)
        return self.head(self.norm(hidden))


def expected_prior_shapes(config: CodePriorConfig) -> dict[str, tuple[int, ...]]:
    """Every weight's name and shape, from a prior on the meta device (nothing allocated)."""
    with on_meta_device():
        prior = CodePrior(config)
    check_prior_cost(config)  # its compute, as a model's (ae_core.compute)
    return {name: tuple(value.shape) for name, value in prior.state_dict().items()}


def _check_codes(prior: CodePrior, codes: torch.Tensor) -> None:
    positions, entries = prior.config.positions, prior.config.codebook_size
    if codes.dim() != 2 or codes.shape[1] != positions:
        raise ValueError(f"codes of shape {tuple(codes.shape)}: expected (N, {positions})")
    if len(codes) and (int(codes.min()) < 0 or int(codes.max()) >= entries):
        raise ValueError(f"codes must be entries in 0..{entries - 1}")


def fit_code_prior(codes: torch.Tensor, config: CodePriorConfig, epochs: int = 40,
                   batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                   on_epoch: Callable[[int, float], None] | None = None) -> CodePrior:
    """A prior fitted to (N, P) int64 code grids by maximum likelihood (Adam, cosine schedule).

    `on_epoch(epoch, mean training nats per position)` is called after each epoch; the prior
    comes back in eval mode on the codes' device.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the initial weights and dropout
        prior = CodePrior(config).to(codes.device)
        _check_codes(prior, codes)
        optimizer = torch.optim.Adam(prior.parameters(), lr=lr)
        steps = epochs * math.ceil(len(codes) / batch_size)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, steps))
        prior.train()
        for epoch in range(1, epochs + 1):
            order = torch.randperm(len(codes), generator=generator).to(codes.device)
            total = 0.0
            for start in range(0, len(codes), batch_size):
                batch = codes[order[start:start + batch_size]]
                loss = F.cross_entropy(prior(batch).flatten(0, 1), batch.flatten())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += float(loss.detach()) * len(batch)
            if on_epoch is not None:
                on_epoch(epoch, total / len(codes))
    return prior.eval()


@torch.inference_mode()
def bits_per_position(prior: CodePrior, codes: torch.Tensor, batch_size: int = 1000) -> float:
    """-log2 p(c) / P averaged over (N, P) code grids: what each position costs to transmit."""
    _check_codes(prior, codes)
    was_training = prior.training
    prior.eval()
    total = 0.0
    for start in range(0, len(codes), batch_size):
        batch = codes[start:start + batch_size]
        total += float(F.cross_entropy(prior(batch).flatten(0, 1), batch.flatten(),
                                       reduction="sum"))
    prior.train(was_training)
    return total / (codes.numel() * math.log(2))


def entry_frequencies(codes: torch.Tensor, codebook_size: int,
                      pseudo_count: float = 1.0) -> torch.Tensor:
    """(N, P) code grids -> (P, codebook_size) per-position entry frequencies, each count
    raised by `pseudo_count` (Laplace smoothing), so an entry unseen at a position costs a
    finite number of bits: the independent prior at its fairest."""
    counts = torch.full((codes.shape[1], codebook_size), float(pseudo_count))
    counts.scatter_add_(1, codes.T.cpu(), torch.ones(codes.T.shape))
    return counts / counts.sum(1, keepdim=True)


def independent_bits_per_position(frequencies: torch.Tensor, codes: torch.Tensor) -> float:
    """-log2 p(c) / P of (N, P) code grids under per-position frequencies (P, codebook_size)."""
    chosen = frequencies.gather(1, codes.T.cpu())  # (P, N)
    return float(-chosen.log2().mean())


@torch.inference_mode()
def sample_code_grid(prior: CodePrior, count: int, generator: torch.Generator | None = None,
                     temperature: float = 1.0) -> torch.Tensor:
    """(count, P) int64 entries drawn position by position from the prior.

    `temperature` T draws from softmax(logits / T): below 1 sharper, above 1 flatter; 0 takes
    the most likely entry at every step (every draw the same). `generator` (on the CPU) makes
    the draw reproducible.
    """
    was_training = prior.training
    prior.eval()
    device = prior.head.weight.device
    positions = prior.config.positions
    codes = torch.zeros(count, positions, dtype=torch.long, device=device)
    for position in range(positions):
        # Row `position` reads only the entries before it, so the zeros after it do not matter.
        logits = prior(codes[:, :position + 1])[:, position].float().cpu()  # (count, K)
        if temperature <= 0:
            chosen = logits.argmax(dim=1)
        else:
            probabilities = torch.softmax(logits / temperature, dim=1)
            chosen = torch.multinomial(probabilities, 1, generator=generator).squeeze(1)
        codes[:, position] = chosen.to(device)
    prior.train(was_training)
    return codes


@torch.inference_mode()
def code_grids(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """(N, 1, 28, 28) images -> (N, P) int64 codebook entries of a model with a codebook."""
    return torch.cat([model.code_indices(images[start:start + batch_size])
                      for start in range(0, len(images), batch_size)])


def fit_model_prior(model: Autoencoder, train_images: torch.Tensor, epochs: int = 30,
                    seed: int = 0, on_epoch: Callable[[int, float], None] | None = None,
                    **sizes: int | float) -> CodePrior:
    """A prior fitted to the code grids of `model`'s training images (the model unchanged;
    `attach_code_prior` to sample from it). `sizes` override CodePriorConfig's defaults."""
    config = CodePriorConfig(model.config.codebook_size, model.grid_size, **sizes)
    return fit_code_prior(code_grids(model, train_images), config, epochs=epochs, seed=seed,
                          on_epoch=on_epoch)


def prior_bits(model: Autoencoder, prior: CodePrior, images: torch.Tensor,
               train_images: torch.Tensor) -> dict[str, float]:
    """Bits per position of `images`' code grids under the learned prior and under the
    independent prior (entry frequencies of the training grids, Laplace-smoothed)."""
    codes = code_grids(model, images)
    frequencies = entry_frequencies(code_grids(model, train_images), prior.config.codebook_size)
    return {"prior_bits_per_position": bits_per_position(prior, codes),
            "independent_bits_per_position": independent_bits_per_position(frequencies, codes)}
