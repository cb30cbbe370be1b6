"""Directions that mean something: for any model, the straight line in code space along which a
stroke measurement (ae_core.morphometry) grows, and the line from one class's codes to
another's.

Two questions, two lines, both fitted on the codes of the model's own images:
- *How much do the codes know?* A ridge regression predicts the measurement from the whole code;
  its R² on a held-out fifth (`r2`) says how much of the measurement is linearly in the code.
- *Which way do the codes move as the measurement grows?* The attribute vector (White,
  "Sampling Generative Networks", 2016: the difference of mean codes with and without an
  attribute; for a number, the codes' covariance with it) is the slider's direction, with the
  held-out R² of the measurement predicted from the code's position along it (`r2_along`).

They differ, and the second is the one to move along: a regression may lean on dimensions that
barely vary (a VAE's collapsed units still echo the input a little), which predict the
measurement yet which the decoder ignores. Measured on the shipped beta_vae_20, +1 SD along the
ridge line thickens its decodes by 0.01 px, along the attribute vector by 0.44 px.

One *standard deviation* along a direction is the codes' own spread along that line, so "+1 SD"
moves a code as far as real digits' codes typically differ there, whatever the model's scale.
What a step does is measured, not assumed (`attribute_effects`): decode real digits' codes
before and after a +1 SD step, measure both, and count how often a pixel probe still reads the
same class.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ae_core.data import Dataset
from ae_core.latent import decode_codes
from ae_core.models import Autoencoder
from ae_core.morphometry import MEASUREMENTS, UNITS, measure

SLIDER_ATTRIBUTES = ("thickness", "slant", "width")  # the sliders page offers these
RIDGE_ALPHA = 1.0  # a little ridge steadies the fit where units are dead
HELD_OUT = 0.2  # share of the images kept back to measure R²
EFFECT_IMAGES = 300  # images whose decodes are measured before and after a step
# Written by scripts/store_attributes.py: the embedded digits' measurements (a minute of work,
# the same for every model) and each shipped model's measured effects.
STORE_DIR = Path(__file__).resolve().parent.parent / "checkpoints" / "attributes"
MEASUREMENTS_FILE = STORE_DIR / "embedded_morphometry.npz"
EFFECTS_FILE = STORE_DIR / "effects.json"


def images_digest(images: torch.Tensor) -> str:
    """A short hash of (N, 28, 28) uint8 images: stored measurements are of these very images."""
    return hashlib.sha256(images.contiguous().numpy().tobytes()).hexdigest()[:16]


def stored_measurements(dataset: Dataset, path: Path = MEASUREMENTS_FILE) -> np.ndarray | None:
    """(N, 6) measurements stored for exactly `dataset`'s images, or None."""
    if not path.is_file():
        return None
    with np.load(path) as stored:
        if str(stored["digest"]) != images_digest(dataset.images):
            return None
        return stored["values"].astype(float)


def measure_dataset(dataset: Dataset, path: Path = MEASUREMENTS_FILE) -> np.ndarray:
    """(N, 6) measurements of `dataset`'s images: the stored ones when they are of these
    images, else measured now (about 20 ms an image on one busy core)."""
    stored = stored_measurements(dataset, path)
    return stored if stored is not None else measure(dataset.images)


def store_measurements(dataset: Dataset, values: np.ndarray, path: Path = MEASUREMENTS_FILE
                       ) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, values=values.astype(np.float32),
                        digest=np.array(images_digest(dataset.images)))


@dataclass(frozen=True)
class AttributeDirection:
    """The line in code space along which one measurement grows, and how well codes know it."""

    name: str
    direction: np.ndarray  # (D,) unit vector: the codes' covariance with the measurement
    code_sd: float  # the codes' standard deviation along `direction`
    value_sd: float  # the measurement's standard deviation over the images
    r2: float  # held-out R² of a ridge regression from the whole code
    r2_along: float  # held-out R² from the code's position along `direction` alone
    slope: float  # change of the measurement per code SD along `direction`, as fitted

    @property
    def unit(self) -> str:
        return UNITS.get(self.name, "")

    def step(self, codes: torch.Tensor, sds: float | torch.Tensor) -> torch.Tensor:
        """(N, D) codes moved `sds` standard deviations along the direction -> (N, D)."""
        offset = torch.as_tensor(self.direction * self.code_sd, dtype=codes.dtype)
        sds = torch.as_tensor(sds, dtype=codes.dtype)
        return codes + sds.reshape(-1, 1) * offset if sds.ndim else codes + sds * offset


def _split(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(count)
    kept = max(1, int(count * HELD_OUT))
    return order[kept:], order[:kept]


def _attribute_vector(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(N, D), (N,) -> (D,) unit vector of the codes' covariance with the values."""
    covariance = (codes - codes.mean(axis=0)).T @ (values - values.mean()) / len(values)
    norm = float(np.linalg.norm(covariance))
    if norm == 0.0:  # nothing in the codes moves with it: any line is as good as none
        covariance = np.eye(codes.shape[1])[0]
        norm = 1.0
    return covariance / norm


def _r2_along(codes: np.ndarray, values: np.ndarray, direction: np.ndarray,
              train: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    """Held-out R² and slope (per unit along `direction`) of values ~ a + b * (codes @ d)."""
    position = codes @ direction
    slope, intercept = np.polyfit(position[train], values[train], 1)
    residual = values[test] - (intercept + slope * position[test])
    spread = float(((values[test] - values[test].mean()) ** 2).sum())
    return (1.0 - float((residual ** 2).sum()) / spread if spread else 0.0), float(slope)


def _ridge_r2(codes: np.ndarray, values: np.ndarray, train: np.ndarray, test: np.ndarray
              ) -> float:
    """Held-out R² of a ridge regression (with intercept) from the whole code, in closed form:
    what scikit-learn's Ridge(alpha=RIDGE_ALPHA) fits, without importing scikit-learn and SciPy
    on a page's first visit (3-4 s on a fresh server)."""
    x, y = codes[train], values[train]
    x_mean, y_mean = x.mean(axis=0), y.mean()
    centred = x - x_mean
    weights = np.linalg.solve(centred.T @ centred + RIDGE_ALPHA * np.eye(x.shape[1]),
                              centred.T @ (y - y_mean))
    predicted = (codes[test] - x_mean) @ weights + y_mean
    spread = float(((values[test] - values[test].mean()) ** 2).sum())
    residual = float(((values[test] - predicted) ** 2).sum())
    return 1.0 - residual / spread if spread else 0.0


def fit_direction(codes: np.ndarray | torch.Tensor, values: np.ndarray, name: str,
                  seed: int = 0) -> AttributeDirection:
    """(N, D) codes, (N,) measurements -> the attribute direction, and the held-out R² of
    the whole code (ridge) and of the position along the direction."""
    codes = np.asarray(codes, dtype=float)
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values) & np.isfinite(codes).all(axis=1)
    codes, values = codes[finite], values[finite]
    if len(values) < 10:
        raise ValueError(f"{name}: {len(values)} images with a measurement; at least 10 needed")
    train, test = _split(len(values), seed)
    r2 = _ridge_r2(codes, values, train, test)
    r2_along, _ = _r2_along(codes, values, _attribute_vector(codes[train], values[train]),
                            train, test)
    direction = _attribute_vector(codes, values)
    everything = np.arange(len(values))
    _, slope = _r2_along(codes, values, direction, everything, everything)
    code_sd = float((codes @ direction).std())
    return AttributeDirection(name, direction, code_sd, float(values.std()), r2, r2_along,
                              slope * code_sd)


def fit_directions(codes: np.ndarray | torch.Tensor, measurements: np.ndarray,
                   seed: int = 0) -> dict[str, AttributeDirection]:
    """(N, D) codes, (N, 6) measurements (MEASUREMENTS' order) -> one direction each."""
    codes = np.asarray(codes, dtype=float)
    return {name: fit_direction(codes, measurements[:, column], name, seed)
            for column, name in enumerate(MEASUREMENTS)}


def class_means(codes: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor
                ) -> np.ndarray:
    """(N, D) codes, (N,) classes -> (C, D) mean code of each class (C = largest label + 1)."""
    codes = np.asarray(codes, dtype=float)
    labels = np.asarray(labels)
    means = np.full((int(labels.max()) + 1, codes.shape[1]), np.nan)
    for label in np.unique(labels):
        means[label] = codes[labels == label].mean(axis=0)
    return means


def class_direction(codes: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
                    source: int, target: int) -> np.ndarray:
    """(D,) from class `source`'s mean code to class `target`'s: adding it once moves the
    one mean onto the other."""
    means = class_means(codes, labels)
    for label in (source, target):
        if not 0 <= label < len(means) or np.isnan(means[label]).any():
            raise ValueError(f"class {label} has no images among the codes")
    return means[target] - means[source]


def project(codes: np.ndarray | torch.Tensor, axis: np.ndarray) -> np.ndarray:
    """(N, D) codes -> (N,) their coordinate along `axis` (in units of its length)."""
    axis = np.asarray(axis, dtype=float)
    return np.asarray(codes, dtype=float) @ axis / float(axis @ axis)


def dimension_correlations(codes: np.ndarray | torch.Tensor,
                           measurements: np.ndarray) -> np.ndarray:
    """(N, D) codes, (N, K) measurements -> (D, K) Pearson correlation of each dimension alone
    with each measurement (0 for a dimension that never moves)."""
    codes = np.asarray(codes, dtype=float)
    finite = np.isfinite(measurements).all(axis=1)
    codes, measurements = codes[finite], measurements[finite]
    centred_codes = codes - codes.mean(axis=0)
    centred = measurements - measurements.mean(axis=0)
    scale = np.outer(np.linalg.norm(centred_codes, axis=0), np.linalg.norm(centred, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(centred_codes.T @ centred / scale)


@dataclass(frozen=True)
class AttributeEffect:
    """What a +1 SD step along one direction does to real digits' decodes, measured."""

    name: str
    change: float  # median change of the measured attribute, in its unit
    change_sd: float  # the same in the measurement's own standard deviations over real digits
    class_kept: float  # share of decodes whose class, as the probe reads it, stays the same
    images: int

    def as_dict(self) -> dict:
        return asdict(self)


@torch.inference_mode()
def attribute_effects(model: Autoencoder, codes: torch.Tensor, labels: torch.Tensor,
                      directions: dict[str, AttributeDirection], probe,
                      names: tuple[str, ...] = SLIDER_ATTRIBUTES, count: int = EFFECT_IMAGES,
                      seed: int = 0) -> dict[str, AttributeEffect]:
    """Decode `count` seeded images' codes before and after +1 SD along each named direction,
    measure both and ask `probe` (ae_core.smoothness.ImageProbe) for both decodes' class."""
    chosen = torch.as_tensor(np.random.default_rng(seed).permutation(len(codes))[:count])
    base_codes = codes[chosen].float()
    conditions = labels[chosen] if model.is_conditional else None
    base = decode_codes(model, base_codes, conditions)
    base_values = measure(base)
    base_classes, _ = probe.judge(base)
    effects = {}
    for name in names:
        direction = directions[name]
        moved = decode_codes(model, direction.step(base_codes, 1.0), conditions)
        column = MEASUREMENTS.index(name)
        change = float(np.nanmedian(measure(moved)[:, column] - base_values[:, column]))
        moved_classes, _ = probe.judge(moved)
        effects[name] = AttributeEffect(
            name, change, change / direction.value_sd if direction.value_sd else 0.0,
            float((moved_classes == base_classes).mean()), len(chosen))
    return effects


def file_digest(path: Path | str) -> str:
    """A short hash of a checkpoint file's bytes: stored effects are of this very model."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def stored_effects(checkpoint_path: Path | str, path: Path = EFFECTS_FILE
                   ) -> dict[str, AttributeEffect] | None:
    """The effects scripts/store_attributes.py measured for this very checkpoint file, or None."""
    if not path.is_file() or not Path(checkpoint_path).is_file():
        return None
    entry = json.loads(path.read_text()).get(file_digest(checkpoint_path))
    if entry is None:
        return None
    return {name: AttributeEffect(**values) for name, values in entry["effects"].items()}


def store_effects(checkpoint_path: Path | str, effects: dict[str, AttributeEffect],
                  path: Path = EFFECTS_FILE) -> None:
    """Add one checkpoint's effects to the effects file, under its file's hash."""
    stored = json.loads(path.read_text()) if path.is_file() else {}
    stored[file_digest(checkpoint_path)] = {
        "checkpoint": Path(checkpoint_path).name,
        "effects": {name: effect.as_dict() for name, effect in effects.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")


def analogy(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """(D,) codes -> (D,) a - b + c: what turns b into a, applied to c (White 2016)."""
    return a - b + c


def analogy_grid(style_codes: torch.Tensor, style_labels: torch.Tensor,
                 means: torch.Tensor) -> torch.Tensor:
    """White's analogy grid: (R, D) codes of R digits, their (R,) classes and (C, D) class mean
    codes -> (R * C, D), row r column k = means[k] + (code_r - means[class_r]): digit r's
    departure from its class's mean (its style), added to class k's mean."""
    style = style_codes - means[style_labels]  # (R, D)
    return (style.unsqueeze(1) + means.unsqueeze(0)).reshape(-1, means.shape[1])
