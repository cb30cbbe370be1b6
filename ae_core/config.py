"""Configuration dataclasses: what a model is and how it is trained.

Frozen dataclasses of plain values (tuples, not lists), so a config can be a cache key
and round-trips through JSON in a checkpoint's metadata.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

RECON_LOSSES = ("bce", "mse")
NOISE_KINDS = ("none", "gaussian", "salt_pepper", "mask")
LR_SCHEDULES = ("none", "cosine", "step")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRIORS = ("gaussian", "mixture", "uniform")

IMAGE_SHAPE = (1, 28, 28)  # every dataset Latent Lab reads is 28x28 grey-level
INPUT_SIZE = 28 * 28


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(choices)}")


def _check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}={value!r} must be {bound}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one autoencoder; `family` picks the class from the registry."""

    family: str = "ae"
    latent_dim: int = 32
    hidden_sizes: tuple[int, ...] = (512, 256)  # MLP encoder widths; the decoder mirrors them
    conv_channels: tuple[int, ...] = (32, 64)  # conv encoder channels, each layer halves H and W
    recon_loss: str = "bce"  # per image, summed over pixels (nats for BCE)
    beta: float = 1.0  # KL weight of a VAE (Higgins et al. 2017); 1 is the plain ELBO
    sparsity_weight: float = 1e-3  # L1 weight on the code (sparse family)
    contractive_weight: float = 1e-2  # Jacobian Frobenius-norm weight (contractive family)
    num_classes: int = 10  # conditional families
    codebook_size: int = 64  # VQ-VAE: number of codebook entries
    commitment_weight: float = 0.25  # VQ-VAE commitment loss weight (van den Oord et al. 2017)
    prior: str = "gaussian"  # adversarial AE: the prior the codes are pushed towards
    adversarial_weight: float = 1.0  # adversarial AE: weight of the generator term

    def __post_init__(self) -> None:
        if not isinstance(self.family, str) or not self.family:
            raise ValueError("family must be a non-empty string")
        if not isinstance(self.latent_dim, int) or not 1 <= self.latent_dim <= 4096:
            raise ValueError(f"latent_dim={self.latent_dim!r} must be an integer in 1..4096")
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        object.__setattr__(self, "conv_channels", tuple(int(c) for c in self.conv_channels))
        if any(h < 1 or h > 8192 for h in self.hidden_sizes):
            raise ValueError(f"hidden_sizes={self.hidden_sizes!r} must be widths in 1..8192")
        if not self.conv_channels or len(self.conv_channels) > 2:
            raise ValueError("conv_channels must hold one or two channel counts (28 -> 14 -> 7)")
        if any(c < 1 or c > 1024 for c in self.conv_channels):
            raise ValueError(f"conv_channels={self.conv_channels!r} must be in 1..1024")
        _check_choice("recon_loss", self.recon_loss, RECON_LOSSES)
        _check_choice("prior", self.prior, PRIORS)
        for name in ("beta", "sparsity_weight", "contractive_weight", "commitment_weight",
                     "adversarial_weight"):
            _check_positive(name, getattr(self, name), allow_zero=True)
        if self.num_classes < 2:
            raise ValueError(f"num_classes={self.num_classes!r} must be at least 2")
        if self.codebook_size < 2:
            raise ValueError(f"codebook_size={self.codebook_size!r} must be at least 2")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        return _from_dict(cls, values)


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained; schedules live here, never in the model."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "none"
    weight_decay: float = 0.0
    kl_warmup_epochs: int = 0  # VAE: KL weight ramps linearly from 0 to beta over these epochs
    grad_clip: float = 0.0  # max gradient norm; 0 turns clipping off
    noise_kind: str = "none"  # denoising: corrupt the input, reconstruct the clean digit
    noise_level: float = 0.0  # std for gaussian, pixel fraction for salt_pepper and mask
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    dataset: str = "mnist-embedded"
    exclude_classes: tuple[int, ...] = ()  # e.g. (9,) to train an anomaly detector without nines
    augment_shift: int = 0  # move each training digit by up to this many pixels (0: off)

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= 10_000:
            raise ValueError(f"epochs={self.epochs!r} must be an integer in 1..10000")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 65_536:
            raise ValueError(f"batch_size={self.batch_size!r} must be an integer in 1..65536")
        if not 0 < self.lr <= 10:
            raise ValueError(f"lr={self.lr!r} must be in (0, 10]")
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _check_choice("noise_kind", self.noise_kind, NOISE_KINDS)
        _check_choice("device", self.device, DEVICES)
        _check_positive("weight_decay", self.weight_decay, allow_zero=True)
        _check_positive("grad_clip", self.grad_clip, allow_zero=True)
        if self.kl_warmup_epochs < 0:
            raise ValueError(f"kl_warmup_epochs={self.kl_warmup_epochs!r} must be >= 0")
        if self.noise_kind != "none" and not 0 < self.noise_level <= 1:
            raise ValueError(f"noise_level={self.noise_level!r} must be in (0, 1] for noise")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction={self.val_fraction!r} must be in [0, 1)")
        object.__setattr__(self, "exclude_classes", tuple(int(c) for c in self.exclude_classes))
        if not isinstance(self.augment_shift, int) or not 0 <= self.augment_shift <= 4:
            raise ValueError(f"augment_shift={self.augment_shift!r} must be an integer in 0..4")

    @property
    def denoising(self) -> bool:
        return self.noise_kind != "none"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        return _from_dict(cls, values)


# Families whose loss keeps an overcomplete code (latent_dim > 784) from copying the input.
OVERCOMPLETE_REGULARISED_FAMILIES = ("sparse_ae", "contractive_ae")


def check_overcomplete(model_config: ModelConfig, train_config: TrainConfig) -> None:
    """Refuse a code larger than the image unless a regulariser (or denoising) is on."""
    if model_config.latent_dim <= INPUT_SIZE:
        return
    if model_config.family in OVERCOMPLETE_REGULARISED_FAMILIES or train_config.denoising:
        return
    raise ValueError(
        f"latent_dim={model_config.latent_dim} is larger than the {INPUT_SIZE}-pixel input: "
        f"an overcomplete autoencoder without a regulariser can learn the identity map, and "
        f"its code then tells you nothing about the digits. Use family sparse_ae or "
        f"contractive_ae, or train with denoising (noise_kind other than 'none')."
    )


def _from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Build a config from JSON values, refusing unknown fields by name."""
    if not isinstance(values, dict):
        raise ValueError(f"{cls.__name__} must be a JSON object")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    converted = {}
    for name, value in values.items():
        # JSON has no tuples: turn lists back into tuples for the tuple-typed fields.
        converted[name] = tuple(value) if isinstance(value, list) else value
    return cls(**converted)


@dataclass(frozen=True)
class Preset:
    """A named starting point: a family plus overrides of both configs."""

    family: str
    description: str
    model_overrides: dict[str, Any] = field(default_factory=dict)
    train_overrides: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "dae": Preset(
        family="ae",
        description="MLP autoencoder trained to remove Gaussian noise (Vincent et al. 2008)",
        train_overrides={"noise_kind": "gaussian", "noise_level": 0.5},
    ),
    "beta_vae": Preset(
        family="vae",
        description="VAE with beta=4: a tidier latent space for blurrier reconstructions",
        model_overrides={"beta": 4.0},
    ),
    "overcomplete": Preset(
        family="sparse_ae",
        description="Sparse autoencoder with a 1024-unit code, larger than the 784-pixel "
                    "image: the L1 penalty keeps it from learning the identity",
        model_overrides={"latent_dim": 1024},
    ),
}


def resolve_preset(name: str, model_values: dict[str, Any], train_values: dict[str, Any]):
    """Expand a preset name into (ModelConfig, TrainConfig); explicit values win."""
    preset = PRESETS.get(name)
    if preset is None:
        return ModelConfig(family=name, **model_values), TrainConfig(**train_values)
    model = {**preset.model_overrides, **model_values, "family": preset.family}
    train = {**preset.train_overrides, **train_values}
    return ModelConfig(**model), TrainConfig(**train)
