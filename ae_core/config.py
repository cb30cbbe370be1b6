"""Configuration dataclasses: what a model is and how it is trained.

Frozen dataclasses of plain values (tuples, not lists), so a config can be a cache key
and round-trips through JSON in a checkpoint's metadata.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any

from ae_core.kinds import KINDS, kind_name_for
from ae_core.registry import Setting, all_settings, families, family_class

RECON_LOSSES = ("bce", "mse")
NOISE_KINDS = ("none", "gaussian", "salt_pepper", "mask")
LR_SCHEDULES = ("none", "cosine", "step")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("float32", "bfloat16")
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")  # torch.compile's modes

IMAGE_SHAPE = (1, 28, 28)  # every dataset Latent Lab reads is 28x28 grey-level
INPUT_SIZE = 28 * 28


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(choices)}")


def _class_numbers(value: Any) -> tuple[int, ...]:
    """exclude_classes as a tuple of class numbers in 0..999; a ValueError naming the field
    for anything else (Infinity from a file was an OverflowError)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError(f"exclude_classes={value!r} must be a list of class numbers")
    numbers = tuple(value)
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, Integral | float) or not (
                isinstance(number, Integral) or number.is_integer()) or not 0 <= number <= 999:
            raise ValueError(f"exclude_classes holds {str(number)[:24]!r}; class numbers are "
                             f"whole numbers in 0..999")
    return tuple(int(number) for number in numbers)


def _check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}={value!r} must be {bound}")


# What every family has; a family's own settings are declared on its class (ae_core.registry).
LATENT_DIM = Setting("latent_dim", int, 32, "Numbers in the bottleneck (784 pixels in)",
                     label="Latent size", bounds=(1, 4096))
RECON_LOSS = Setting("recon_loss", str, "bce", "per image, summed over pixels (nats for BCE)",
                     label="Reconstruction loss", choices=RECON_LOSSES)
COMMON_SETTINGS = (LATENT_DIM, RECON_LOSS)


@dataclass(frozen=True, init=False)
class ModelConfig:
    """Architecture of one autoencoder: what every family has, plus its family's own settings.

    `ModelConfig(family="vae", latent_dim=2, beta=4.0)`. A family's setting reads like a field
    (`config.beta`); one left out takes its declared default, so equal models compare equal.
    """

    family: str = "ae"
    latent_dim: int = 32
    recon_loss: str = "bce"
    settings: tuple[tuple[str, Any], ...] = ()  # (name, value) of each of the family's settings

    def __init__(self, family: str = "ae", latent_dim: int = 32, recon_loss: str = "bce",
                 settings: tuple[tuple[str, Any], ...] = (), **named: Any) -> None:
        declared = {setting.name: setting for setting in family_class(family).settings}
        given = {**dict(settings), **named}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise ValueError(f"family {family} has no setting {', '.join(unknown)}; its settings: "
                             f"{', '.join(declared) or 'none'}")
        checked = tuple((name, setting.check(given.get(name, setting.default)))
                        for name, setting in declared.items())
        object.__setattr__(self, "family", family)
        object.__setattr__(self, "latent_dim", LATENT_DIM.check(latent_dim))
        object.__setattr__(self, "recon_loss", RECON_LOSS.check(recon_loss))
        object.__setattr__(self, "settings", checked)

    def __getattr__(self, name: str) -> Any:
        # Only reached when ordinary lookup fails: a family's setting reads like a field.
        if name.startswith("__") or name == "settings":
            raise AttributeError(name)
        for key, value in self.settings:
            if key == name:
                return value
        raise AttributeError(f"family {self.family} has no setting {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Flat, as checkpoints have always stored it: {"family": ..., "beta": ...}."""
        return {"family": self.family, "latent_dim": self.latent_dim,
                "recon_loss": self.recon_loss, **dict(self.settings)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """A config from its flat JSON form, refusing unknown fields by name."""
        if not isinstance(values, dict):
            raise ValueError("ModelConfig must be a JSON object")
        own = {setting.name for setting in family_class(values.get("family", "ae")).settings}
        # Checkpoints written before families declared their own settings hold every family's
        # fields at their defaults; the ones this family does not read are dropped.
        others = set(all_settings()) - own
        common = {"family"} | {setting.name for setting in COMMON_SETTINGS}
        unknown = sorted(set(values) - common - own - others)
        if unknown:
            raise ValueError(f"unknown ModelConfig field(s): {', '.join(unknown)}")
        return cls(**{name: value for name, value in values.items() if name not in others})


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
    # The kind of images `dataset` holds (ae_core.kinds); "" works it out from the dataset's
    # name, as it is for checkpoints saved before configs carried it.
    kind: str = ""
    exclude_classes: tuple[int, ...] = ()  # e.g. (9,) to train an anomaly detector without nines
    augment_shift: int = 0  # move each training digit by up to this many pixels (0: off)
    # bfloat16: the forward pass and loss under bf16 autocast (weights, gradients and the
    # optimiser stay float32); it pays on GPUs with bf16 tensor cores (Ampere and later).
    precision: str = "float32"
    compile_mode: str = "none"  # torch.compile the forward pass in this mode; none: eager

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):  # NaN slips through every comparison below
            value = getattr(self, spec.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{spec.name}={value!r} must be a finite number")
        for name in ("seed", "kl_warmup_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**63:
                raise ValueError(f"{name}={value!r} must be a whole number")
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= 10_000:
            raise ValueError(f"epochs={self.epochs!r} must be an integer in 1..10000")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 65_536:
            raise ValueError(f"batch_size={self.batch_size!r} must be an integer in 1..65536")
        if not 0 < self.lr <= 10:
            raise ValueError(f"lr={self.lr!r} must be in (0, 10]")
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _check_choice("noise_kind", self.noise_kind, NOISE_KINDS)
        _check_choice("device", self.device, DEVICES)
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("compile_mode", self.compile_mode, COMPILE_MODES)
        _check_positive("weight_decay", self.weight_decay, allow_zero=True)
        _check_positive("grad_clip", self.grad_clip, allow_zero=True)
        if self.kl_warmup_epochs < 0:
            raise ValueError(f"kl_warmup_epochs={self.kl_warmup_epochs!r} must be >= 0")
        if self.noise_kind != "none" and not 0 < self.noise_level <= 1:
            raise ValueError(f"noise_level={self.noise_level!r} must be in (0, 1] for noise")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction={self.val_fraction!r} must be in [0, 1)")
        object.__setattr__(self, "exclude_classes", _class_numbers(self.exclude_classes))
        if not isinstance(self.augment_shift, int) or not 0 <= self.augment_shift <= 4:
            raise ValueError(f"augment_shift={self.augment_shift!r} must be an integer in 0..4")
        if not self.kind:
            object.__setattr__(self, "kind", kind_name_for(self.dataset) or self.dataset)
        named = [kind.name for kind in KINDS.values() if self.dataset in kind.datasets]
        if named and self.kind not in named:  # a path's kind is its own business
            raise ValueError(f"kind={self.kind!r} does not match dataset={self.dataset!r}, "
                             f"which holds {named[0]} images")

    @property
    def denoising(self) -> bool:
        return self.noise_kind != "none"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        return _from_dict(cls, values)


def is_overcomplete(model_config: ModelConfig) -> bool:
    """Whether the code has more numbers than the image has pixels."""
    return model_config.latent_dim > INPUT_SIZE


def check_overcomplete(model_config: ModelConfig, train_config: TrainConfig) -> None:
    """Refuse a code larger than the image unless a regulariser (or denoising) is on."""
    if not is_overcomplete(model_config):
        return
    if family_class(model_config.family).regularises_overcomplete or train_config.denoising:
        return
    regularised = [name for name, model_class in families().items()
                   if model_class.regularises_overcomplete]
    raise ValueError(
        f"latent_dim={model_config.latent_dim} is larger than the {INPUT_SIZE}-pixel input: "
        f"an overcomplete autoencoder without a regulariser can learn the identity map, and "
        f"its code then tells you nothing about the digits. Use family "
        f"{' or '.join(regularised)}, or train with denoising (noise_kind other than 'none')."
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
    # No hidden layer: the 1024-unit code is computed straight from the pixels, so no layer
    # narrower than the image squeezes the input first (the old 512-256 one did the
    # compressing). Measured in docs/quality.md ("Overcomplete codes").
    "overcomplete": Preset(
        family="sparse_ae",
        description="Sparse autoencoder whose 1024-unit code is computed straight from the "
                    "784 pixels (no narrower layer first): more units than pixels, so its "
                    "shape alone would let it copy the image. The L1 penalty leaves most units "
                    "silent for each digit; the noise test after training shows whether it "
                    "copies (set the weight to 0 to compare)",
        model_overrides={"latent_dim": 1024, "hidden_sizes": ()},
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
