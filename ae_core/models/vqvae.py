"""VQ-VAE (van den Oord et al. 2017): a grid of vectors, each snapped to the nearest codebook entry.

The code a page sees is the quantised grid flattened to (B, positions * latent_dim), position
by position, so `decode(embed(x))` reconstructs like any other family. `code_indices` gives the
discrete code itself, (B, positions) entry numbers.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ae_core.config import ModelConfig
from ae_core.models.base import (
    CONV_CHANNELS,
    AfterTrainingProgress,
    AfterTrainingReport,
    Autoencoder,
    ForwardOutput,
    reconstruction_loss,
)
from ae_core.models.conv import downsampling_layers, upsampling_layers
from ae_core.registry import Setting, register
from ae_core.vq_prior import ATTRIBUTE, CodePrior, fit_model_prior, prior_bits, sample_code_grid

RESEED_IMAGES = 256  # dead entries are re-seeded from encoder outputs of this many random images
BATCH_SIZE = 1000  # images per batch when counting codes over a whole training set
NATS_PER_BIT = math.log(2)

# Epochs of the learned prior fitted once the VQ-VAE has trained. Measured after a default
# Train-page run (10 epochs on the embedded set's 4,500 training digits, ~36 s on one busy CPU
# core): about 5 to 12 s an epoch of the prior on their 7x7 grids. After 1 epoch it is worse
# than independent positions (3.81 bits per position on the 500 validation digits against
# 3.45), after 3 better (3.07), after 5 2.89; batches of 128 or 256 were no better per second.
# 3 keeps the default VQ-VAE run near a minute; the shipped model's prior had 30 (about 2.1).
CODE_PRIOR_EPOCHS = Setting(
    "code_prior_epochs", int, 3,
    "epochs of the learned prior over the code grid (a small causal transformer, "
    "ae_core.vq_prior), fitted to the training digits' codes once the VQ-VAE has trained; "
    "about 5-12 s an epoch for 4,500 digits on one CPU core; 3 beat independent positions "
    "(3.1 bits per position against 3.5), the shipped one had 30 (2.1); 0: no learned prior, "
    "samples draw each position independently",
    label="Code prior epochs", bounds=(0, 500))


@register("vqvae", "VQ-VAE (a grid of codes from a learned codebook)", settings=(
    CONV_CHANNELS,
    Setting("codebook_size", int, 64, "number of codebook entries", label="Codebook size",
            bounds=(2, 4096)),
    Setting("commitment_weight", float, 0.25,
            "commitment loss weight (van den Oord et al. 2017)", label="Commitment weight",
            bounds=(0.0, 10.0), step=0.05),
    CODE_PRIOR_EPOCHS,
))
class VQVAE(Autoencoder):
    """Conv encoder to a (grid x grid) map of latent_dim-vectors, a codebook, a conv decoder."""

    has_codebook = True
    # Per-position entry frequencies, refitted after every epoch; a learned autoregressive
    # prior (ae_core.vq_prior) replaces them once one is attached (`attach_code_prior`).
    has_prior = True
    code_prior: CodePrior | None  # the learned prior, or None: positions drawn independently

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        channels = config.conv_channels
        self.grid_size = 28 // 2 ** len(channels)  # each stride-2 conv halves 28: 14 or 7
        self.positions = self.grid_size**2
        self.embedding_dim = config.latent_dim

        # A 1x1 convolution maps each position's features to one vector to quantise.
        self.encoder = nn.Sequential(*downsampling_layers(channels),
                                     nn.Conv2d(channels[-1], config.latent_dim, 1))
        self.decoder = nn.Sequential(
            nn.Conv2d(config.latent_dim, channels[-1], 3, padding=1), nn.ReLU(),
            *upsampling_layers(channels))

        self.codebook = nn.Embedding(config.codebook_size, config.latent_dim)
        bound = 1.0 / config.codebook_size  # small entries, as in the paper's reference code
        nn.init.uniform_(self.codebook.weight, -bound, bound)
        # Prior over codes: per-position entry frequencies on the training set (uniform until
        # after_epoch counts them). A buffer, so it travels in the checkpoint.
        self.register_buffer("code_frequencies",
                             torch.full((self.positions, config.codebook_size),
                                        1.0 / config.codebook_size))
        # Fitted to the codes of a trained model, so None during training; its weights travel
        # in the checkpoint under "code_prior." (ae_core.checkpoint).
        self.register_module(ATTRIBUTE, None)

    def attach_code_prior(self, prior: CodePrior | None) -> None:
        """Sample from `prior` from now on (None: back to the per-position frequencies)."""
        if prior is not None and (prior.config.codebook_size != self.config.codebook_size
                                  or prior.config.positions != self.positions):
            raise ValueError(f"a prior over {prior.config.positions} positions of "
                             f"{prior.config.codebook_size} entries does not fit this model's "
                             f"{self.positions} positions of {self.config.codebook_size}")
        self.code_prior = prior

    @property
    def prior_name(self) -> str:
        if self.code_prior is not None:
            return (f"learned over the {self.grid_size}x{self.grid_size} code grid "
                    f"(autoregressive: each position's entry given the ones before it)")
        return ("of independent positions (each position's entry frequencies; this model has "
                "no learned prior)")

    @property
    def latent_dim(self) -> int:
        """Size of the flattened code: positions * config.latent_dim."""
        return self.positions * self.config.latent_dim

    def encoded_grid(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, positions, latent_dim) encoder outputs before quantising."""
        features = self.encoder(x)  # (B, latent_dim, grid, grid)
        return features.permute(0, 2, 3, 1).reshape(len(x), self.positions, self.embedding_dim)

    def nearest_entries(self, vectors: torch.Tensor) -> torch.Tensor:
        """(..., latent_dim) -> (...) int64 index of the nearest codebook entry."""
        flat = vectors.reshape(-1, self.embedding_dim)
        entries = self.codebook.weight
        distances = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ entries.T
                     + entries.pow(2).sum(1))
        return distances.argmin(dim=1).view(vectors.shape[:-1])

    def code_indices(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, positions) int64 codebook entries."""
        return self.nearest_entries(self.encoded_grid(x))

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, positions) int64 entries -> (B, 1, 28, 28) images in [0, 1]."""
        return self.decode(self.codebook(indices).flatten(1))

    def _quantise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encoder outputs, straight-through code and quantised vectors, each (B, P, D)."""
        encoded = self.encoded_grid(x)
        quantised = self.codebook(self.nearest_entries(encoded))
        # Straight-through estimator (van den Oord et al. 2017, sec. 3.1): the decoder reads the
        # quantised vectors, its gradient is copied unchanged onto the encoder's output.
        straight_through = encoded + (quantised - encoded).detach()
        return encoded, straight_through, quantised

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, positions * latent_dim) quantised code (straight-through)."""
        return self._quantise(x)[1].flatten(1)

    def embed(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, positions * latent_dim) codebook vectors, exactly."""
        return self.codebook(self.code_indices(x)).flatten(1)

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, positions * latent_dim) -> (B, 1, 28, 28); z is not re-quantised, so a page
        can decode points between codes."""
        grid = z.view(-1, self.grid_size, self.grid_size, self.embedding_dim)
        return self.decoder(grid.permute(0, 3, 1, 2))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> ForwardOutput:
        encoded, straight_through, quantised = self._quantise(x)
        code = straight_through.flatten(1)
        return ForwardOutput(logits=self.decode_logits(code), code=code,
                             extras={"encoded": encoded, "quantised": quantised})

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        """Reconstruction + codebook + beta * commitment (van den Oord et al. 2017, eq. 3).

        The squared distances are summed over the code per image, like the reconstruction.
        """
        recon_loss = reconstruction_loss(x, out.logits, self.config.recon_loss)
        encoded, quantised = out.extras["encoded"], out.extras["quantised"]
        # Codebook term moves the entries towards the encoder outputs; the commitment term
        # keeps the encoder outputs near their entries so they do not grow without bound.
        codebook_loss = (quantised - encoded.detach()).pow(2).flatten(1).sum(1).mean()
        commitment_loss = (encoded - quantised.detach()).pow(2).flatten(1).sum(1).mean()
        loss = recon_loss + codebook_loss + self.config.commitment_weight * commitment_loss
        return {"loss": loss, "recon_loss": recon_loss, "codebook_loss": codebook_loss,
                "commitment_loss": commitment_loss}

    def code_counts(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) -> (positions, codebook_size) how often each entry is chosen where."""
        counts = torch.zeros(self.positions, self.config.codebook_size, device=images.device)
        for start in range(0, len(images), BATCH_SIZE):
            indices = self.code_indices(images[start:start + BATCH_SIZE])  # (B, P)
            counts.scatter_add_(1, indices.T, torch.ones(indices.T.shape, device=images.device))
        return counts

    def before_training(self, train_images: torch.Tensor) -> None:
        """Training changes the codes a learned prior was fitted to: drop it."""
        self.attach_code_prior(None)

    def after_training(self, train_images: torch.Tensor, val_images: torch.Tensor | None,
                       seed: int, progress: AfterTrainingProgress) -> dict[str, float]:
        """Fit the learned prior to the training digits' code grids (`code_prior_epochs` of
        them; 0 fits none) and attach it. Its figures, bits per position of the validation
        digits' grids under it and under independent positions, go in the metrics."""
        epochs = self.config.code_prior_epochs
        if epochs == 0 or len(train_images) == 0:
            return {}
        what = "code prior"
        progress(AfterTrainingReport(what, 0, epochs))
        prior = fit_model_prior(self, train_images, epochs=epochs, seed=seed, on_epoch=(
            lambda epoch, nats: progress(AfterTrainingReport(
                what, epoch, epochs, f"{nats / NATS_PER_BIT:.3f} bits per position (train)"))))
        self.attach_code_prior(prior)
        if val_images is None or len(val_images) == 0:
            return {}
        return prior_bits(self, prior, val_images, train_images)

    @torch.no_grad()
    def after_epoch(self, train_images: torch.Tensor) -> dict:
        """Count codebook usage, re-seed dead entries, refit the per-position prior."""
        if len(train_images) == 0:
            return {}
        counts = self.code_counts(train_images)
        dead = (counts.sum(0) == 0).nonzero().squeeze(1)
        codes_used = self.config.codebook_size - len(dead)
        if len(dead):
            # Entries no encoder output is near get no gradient and would stay dead; moving
            # them onto random encoder outputs brings them back into use (the codebook
            # "restart" of Dhariwal et al. 2020, sec. 2.2 / Zeghidour et al. 2021).
            device = train_images.device
            chosen = torch.randperm(len(train_images))[:RESEED_IMAGES].to(device)
            vectors = self.encoded_grid(train_images[chosen]).reshape(-1, self.embedding_dim)
            if len(vectors) >= len(dead):
                picks = torch.randperm(len(vectors))[:len(dead)]
            else:
                picks = torch.randint(len(vectors), (len(dead),))
            self.codebook.weight[dead] = vectors[picks.to(device)]
            counts = self.code_counts(train_images)  # the prior should see the new entries
        self.code_frequencies.copy_(counts / counts.sum(1, keepdim=True))
        return {"codes_used": codes_used, "codes_reseeded": len(dead)}

    def sample_prior(self, count: int, generator: torch.Generator | None = None,
                     temperature: float = 1.0) -> torch.Tensor:
        """(count, positions * latent_dim): a grid drawn from the learned prior when there is
        one (`sample_code_grid`: softmax(logits / T) at each step, 0 the likeliest entry),
        else each position's entry drawn from its frequencies, as below.

        `temperature` T reshapes each position's categorical distribution to p^(1/T),
        renormalised (a softmax of log p / T): below 1 it sharpens towards the most used entry,
        above 1 it flattens towards uniform over the entries used there; 0 is the mode, the
        most frequent entry at every position. Entries never used at a position stay unused.
        """
        entries = self.codebook.weight.detach()
        if self.code_prior is not None:
            indices = sample_code_grid(self.code_prior, count, generator, temperature)
            return entries[indices.to(entries.device)].flatten(1)
        frequencies = self.code_frequencies.detach().cpu()  # (P, codebook_size)
        if temperature <= 0:
            indices = frequencies.argmax(dim=1).expand(count, -1)  # (count, P)
        else:
            if temperature != 1.0:
                frequencies = torch.softmax(frequencies.log() / temperature, dim=1)
            indices = torch.multinomial(frequencies, count, replacement=True,
                                        generator=generator).T  # (count, P)
        return entries[indices.to(entries.device)].flatten(1)
