"""2-D and 3-D projections of codes, scikit-learn style: parameters in __init__, learned
state ending in `_`.

`project(codes, method, **params)` is what pages call: it shows a 1-D or 2-D code as it is
(a 3-D map, `n_components=3`, needs a code of at least 3 numbers),
and survives what real codes do to UMAP and t-SNE (a handful of points, duplicates, a
constant code) by adapting the parameters or falling back to PCA, saying why in `note`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch

METHODS = ("pca", "umap", "tsne")
METHOD_NAMES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE", "identity": "the code itself",
                "constant": "a single point"}
# UMAP's defaults (McInnes et al. 2018); a precomputed projection is stored under these.
DEFAULT_NEIGHBOURS = 15
DEFAULT_MIN_DIST = 0.1
DEFAULT_PERPLEXITY = 30.0
# Below this many distinct codes a neighbour graph says nothing PCA does not.
MIN_MANIFOLD_POINTS = 5
NUMBER_WORDS = {2: "two", 3: "three"}  # for the note on a code shown as it is
# UMAP switches from exact neighbours to NN-descent above 4,096 points; warming up on more
# compiles the path every real dataset (5,000 and more digits) takes.
WARM_UP_POINTS = 4200
MAX_3D_POINTS = 5000  # a WebGL scene of more turns slowly: the 3-D map shows the first 5,000


class PCAProjection:
    """Principal components by SVD: instant, deterministic, and a fair first look at any code."""

    def __init__(self, n_components: int = 2) -> None:
        self.n_components = n_components

    def fit(self, codes: np.ndarray | torch.Tensor) -> PCAProjection:
        from ae_core.metrics import fit_pca

        data = _as_matrix(codes)
        with np.errstate(invalid="ignore", divide="ignore"):  # a constant code: 0 / 0 variance
            pca = fit_pca(data, self.n_components)
        self.mean_ = pca.mean_
        # Each axis points towards its largest entry, so the same codes always give the same
        # picture, not its mirror image.
        axes = pca.components_
        signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
        signs[signs == 0] = 1.0
        self.components_ = axes * signs[:, None]
        ratio = np.nan_to_num(pca.explained_variance_ratio_)  # a constant code has none
        self.explained_variance_ratio_ = ratio
        return self

    def transform(self, codes: np.ndarray | torch.Tensor) -> np.ndarray:
        """(N, D) -> (N, n_components); padded with zeros when D < n_components."""
        projected = (_as_matrix(codes) - self.mean_) @ self.components_.T
        if projected.shape[1] < self.n_components:
            padding = np.zeros((len(projected), self.n_components - projected.shape[1]))
            projected = np.hstack([projected, padding])
        return projected.astype(np.float32)

    def fit_transform(self, codes: np.ndarray | torch.Tensor) -> np.ndarray:
        return self.fit(codes).transform(codes)


class UMAPProjection:
    """UMAP (McInnes, Healy & Melville 2018): keeps neighbourhoods, so clusters stay apart.

    umap is imported inside `fit` (a 2 s import and ~30 s of numba compiling on first use);
    a fixed `random_state` makes the picture reproducible (and UMAP single-threaded).
    """

    def __init__(self, n_components: int = 2, n_neighbors: int = DEFAULT_NEIGHBOURS,
                 min_dist: float = DEFAULT_MIN_DIST, random_state: int = 0,
                 n_epochs: int | None = None) -> None:
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.random_state = random_state
        self.n_epochs = n_epochs

    def fit(self, codes: np.ndarray | torch.Tensor) -> UMAPProjection:
        data = _as_matrix(codes).astype(np.float32)
        if not isinstance(self.n_neighbors, int | np.integer) or self.n_neighbors < 2:
            raise ValueError(f"n_neighbors={self.n_neighbors!r} must be an integer >= 2")
        if not 0.0 <= self.min_dist <= 1.0:
            raise ValueError(f"min_dist={self.min_dist!r} must be in [0, 1]")
        if len(data) < 3:
            raise ValueError(f"UMAP needs at least 3 codes, got {len(data)}")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Tensorflow not installed.*")
            from umap import UMAP

        # More neighbours than other points is meaningless: use every other point.
        self.n_neighbors_ = int(min(self.n_neighbors, len(data) - 1))
        # The spectral start needs a graph larger than the layout's dimension; tiny sets
        # start from random positions instead.
        init = "spectral" if len(data) > 4 * (self.n_components + 1) else "random"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
            warnings.filterwarnings("ignore", message=".*[Gg]raph is not fully connected.*")
            warnings.filterwarnings("ignore", message="Tensorflow not installed.*")
            self.umap_ = UMAP(n_components=self.n_components, n_neighbors=self.n_neighbors_,
                              min_dist=self.min_dist, random_state=self.random_state,
                              n_epochs=self.n_epochs, init=init, n_jobs=1)
            self.umap_.fit(data)
        self.embedding_ = np.asarray(self.umap_.embedding_, dtype=np.float32)
        return self

    def transform(self, codes: np.ndarray | torch.Tensor) -> np.ndarray:
        """(N, D) new codes -> (N, n_components) placed on the fitted map."""
        return np.asarray(self.umap_.transform(_as_matrix(codes).astype(np.float32)),
                          dtype=np.float32)

    def fit_transform(self, codes: np.ndarray | torch.Tensor) -> np.ndarray:
        return self.fit(codes).embedding_


class TSNEProjection:
    """t-SNE (van der Maaten & Hinton 2008) by scikit-learn: no `transform` for new codes."""

    def __init__(self, n_components: int = 2, perplexity: float = DEFAULT_PERPLEXITY,
                 random_state: int = 0) -> None:
        self.n_components = n_components
        self.perplexity = perplexity
        self.random_state = random_state

    def fit(self, codes: np.ndarray | torch.Tensor) -> TSNEProjection:
        data = _as_matrix(codes).astype(np.float32)
        if self.perplexity <= 0:
            raise ValueError(f"perplexity={self.perplexity!r} must be > 0")
        if len(data) < 3:
            raise ValueError(f"t-SNE needs at least 3 codes, got {len(data)}")
        from sklearn.manifold import TSNE

        # scikit-learn refuses a perplexity not below the number of points.
        self.perplexity_ = float(min(self.perplexity, (len(data) - 1) / 3))
        tsne = TSNE(n_components=self.n_components, perplexity=self.perplexity_, init="pca",
                    random_state=self.random_state)
        self.embedding_ = tsne.fit_transform(data).astype(np.float32)
        return self

    def fit_transform(self, codes: np.ndarray | torch.Tensor) -> np.ndarray:
        return self.fit(codes).embedding_


@dataclass
class Projection:
    """A 2-D or 3-D picture of N codes and how it was made."""

    coords: np.ndarray  # (N, 2) or (N, 3) float32
    method: str  # what ran: pca, umap, tsne, identity (codes as small as the map) or constant
    axis_titles: tuple[str, ...]  # one per axis
    note: str = ""  # why it differs from what was asked, for the page to say
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return METHOD_NAMES.get(self.method, self.method)


def project(codes: np.ndarray | torch.Tensor, method: str = "pca",
            n_neighbors: int = DEFAULT_NEIGHBOURS, min_dist: float = DEFAULT_MIN_DIST,
            perplexity: float = DEFAULT_PERPLEXITY, seed: int = 0,
            n_components: int = 2) -> Projection:
    """(N, D) codes -> Projection with (N, n_components) coordinates (2 or 3).

    On a 2-D map a 1-D code is drawn on its own axis (the other axis is jitter), a 2-D code
    as it is; a 3-D map needs D >= 3 (ValueError otherwise: a third axis would be invented)
    and shows a 3-D code as it is. UMAP and t-SNE run on the distinct codes only (duplicates
    land on the same spot) and fall back to PCA below MIN_MANIFOLD_POINTS distinct codes;
    identical codes are one point.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(METHODS)}")
    if n_components not in (2, 3):
        raise ValueError(f"n_components={n_components!r} must be 2 or 3")
    started = time.perf_counter()
    data = _as_matrix(codes)
    count, dim = data.shape
    if n_components == 3 and dim < 3:  # (a 2-D map draws a 1-D code on its own axis)
        raise ValueError(f"a {n_components}-D map needs codes of at least {n_components} "
                         f"numbers, these have {dim}")
    result = _project(data, method, n_neighbors, min_dist, perplexity, seed, n_components)
    result.seconds = time.perf_counter() - started
    assert result.coords.shape == (count, n_components), (result.coords.shape, count, dim)
    return result


def _pca_titles(pca: PCAProjection, axes: int) -> tuple[str, ...]:
    share = pca.explained_variance_ratio_
    return tuple(f"PC{i + 1} ({share[i]:.0%} of variance)" if i < len(share) else ""
                 for i in range(axes))


def _project(data: np.ndarray, method: str, n_neighbors: int, min_dist: float,
             perplexity: float, seed: int, axes: int = 2) -> Projection:
    """(N, D) codes -> `axes` coordinates each (2 or 3): a code with that many numbers as it
    is, a 1-D code as a strip, else PCA, UMAP or t-SNE of the distinct codes."""
    count, dim = data.shape
    unique, inverse = np.unique(data, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(unique) == 1:
        return Projection(np.zeros((count, axes), np.float32), "constant", ("",) * axes,
                          f"all {count} codes are identical: the map is a single point")
    if dim == 1 and axes == 2:
        # A strip: the code on x, a seeded jitter on y so overlapping points can be told apart.
        spread = float(np.ptp(data[:, 0])) or 1.0
        jitter = np.random.default_rng(seed).uniform(-0.05, 0.05, count) * spread
        coords = np.stack([data[:, 0], jitter], axis=1).astype(np.float32)
        return Projection(coords, "identity", ("z[0]", "jitter (no meaning)"),
                          "the code has one number: shown on its own axis, no projection")
    if dim == axes:
        return Projection(data.astype(np.float32), "identity",
                          tuple(f"z[{axis}]" for axis in range(axes)),
                          f"the code has {NUMBER_WORDS[axes]} numbers: shown as it is, "
                          f"no projection")
    note = ""
    if method != "pca" and len(unique) < MIN_MANIFOLD_POINTS:
        note = (f"only {len(unique)} distinct codes: {METHOD_NAMES[method]} needs at least "
                f"{MIN_MANIFOLD_POINTS}, showing PCA instead")
        method = "pca"
    if method == "pca":
        pca = PCAProjection(axes).fit(data)
        return Projection(pca.transform(data), "pca", _pca_titles(pca, axes), note)
    if len(unique) < count:
        note = f"{count - len(unique)} duplicate codes share their twin's position"
    if method == "umap":
        projector = UMAPProjection(axes, n_neighbors, min_dist, seed)
        layout = projector.fit_transform(unique)
        if projector.n_neighbors_ < n_neighbors:
            note = _join(note, f"{n_neighbors} neighbours asked, {len(unique)} distinct codes: "
                               f"used {projector.n_neighbors_}")
    else:
        tsne = TSNEProjection(axes, perplexity, seed)
        layout = tsne.fit_transform(unique)
        if tsne.perplexity_ < perplexity:
            note = _join(note, f"perplexity lowered to {tsne.perplexity_:.1f} for "
                               f"{len(unique)} distinct codes")
    name = METHOD_NAMES[method]
    return Projection(layout[inverse], method, tuple(f"{name} {axis + 1}"
                                                     for axis in range(axes)), note)


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


def warm_up_umap(seed: int = 0) -> float:
    """Import umap and fit random points once, so numba has compiled before a user asks.

    Returns the seconds it took (about 30 s on a small CPU); call it from a daemon thread.
    """
    started = time.perf_counter()
    points = np.random.default_rng(seed).random((WARM_UP_POINTS, 4), dtype=np.float32)
    UMAPProjection(2, n_neighbors=5, random_state=seed, n_epochs=5).fit(points)
    return time.perf_counter() - started


def precomputed_key(method: str, dataset: str, n_neighbors: int = DEFAULT_NEIGHBOURS,
                    min_dist: float = DEFAULT_MIN_DIST, n_components: int = 2) -> str:
    """Name of a projection stored in a checkpoint's `extras`, e.g. "umap_embedded_15_0.1"
    (a 3-D map: "umap_embedded_15_0.1_3d"; 2-D keys keep their original, suffix-free name)."""
    suffix = "" if n_components == 2 else f"_{n_components}d"
    return f"{method}_{dataset}_{n_neighbors}_{min_dist:g}{suffix}"


def precomputed_projection(extras: dict[str, torch.Tensor], key: str, count: int,
                           n_components: int = 2) -> np.ndarray | None:
    """The (count, n_components) projection stored under `key`, or None if absent or of
    another shape."""
    stored = extras.get(key)
    if stored is None or tuple(stored.shape) != (count, n_components):
        return None
    coords = stored.detach().float().cpu().numpy()
    return coords if np.isfinite(coords).all() else None


def embedded_umap_extras(model: torch.nn.Module, n_neighbors: int = DEFAULT_NEIGHBOURS,
                         min_dist: float = DEFAULT_MIN_DIST,
                         n_components: int = 2) -> dict[str, torch.Tensor]:
    """{"umap_embedded_15_0.1": (5000, 2)} (or its "_3d" (5000, 3) twin): the default UMAP
    map of the embedded digits' codes, to pass as `save_checkpoint(..., extras=...)` so the
    app shows it at once."""
    from ae_core.data import load_embedded
    from ae_core.latent import encode_dataset

    digits = load_embedded()
    encoded = encode_dataset(model, digits.float_images(), digits.labels)
    coords = project(encoded.codes, "umap", n_neighbors, min_dist,
                     n_components=n_components).coords
    key = precomputed_key("umap", "embedded", n_neighbors, min_dist, n_components)
    return {key: torch.from_numpy(coords)}


def test_umap_extras(model: torch.nn.Module, dataset, source: str,
                     n_neighbors: int = DEFAULT_NEIGHBOURS, min_dist: float = DEFAULT_MIN_DIST,
                     n_components: int = 2) -> dict[str, torch.Tensor]:
    """{"umap_<source>_15_0.1": (N, 2)}: the default UMAP map of a test set's codes (a
    Fashion-MNIST model's home data), stored like `embedded_umap_extras`'. A 3-D map covers
    the first MAX_3D_POINTS images only, as the latent map's 3-D view does."""
    from ae_core.latent import encode_dataset

    count = len(dataset) if n_components == 2 else min(len(dataset), MAX_3D_POINTS)
    encoded = encode_dataset(model, dataset.float_images()[:count], dataset.labels[:count])
    coords = project(encoded.codes, "umap", n_neighbors, min_dist,
                     n_components=n_components).coords
    key = precomputed_key("umap", source, n_neighbors, min_dist, n_components)
    return {key: torch.from_numpy(coords)}


def subsample(count: int, size: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of `size` of `count` points drawn uniformly without replacement (all
    when `size` is None or at least `count`). The same seed gives the same points, and a
    larger size keeps every point of a smaller one (both are prefixes of one permutation), so
    growing the sample only adds points to the map."""
    if size is not None and size < 1:
        raise ValueError(f"size={size!r} must be at least 1")
    if size is None or size >= count:
        return np.arange(count)
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[:size])


def map_csv(codes: np.ndarray | torch.Tensor, coords: np.ndarray, labels: np.ndarray,
            errors: np.ndarray, indices: np.ndarray | None = None,
            class_names: tuple[str, ...] | None = None, with_codes: bool = True) -> bytes:
    """CSV of a map, one row per image: index, label[, class], error, x, y[, z][, z0..z{D-1}].

    `indices`: each row's dataset index (default: its position, for a map of every image);
    `class_names` adds the class column; `with_codes=False` leaves the code out.
    """
    import csv
    import io

    codes = _as_matrix(codes)
    count = len(codes)
    indices = np.arange(count) if indices is None else np.asarray(indices)
    if np.shape(coords) not in ((count, 2), (count, 3)) or len(labels) != count \
            or len(errors) != count or len(indices) != count:
        raise ValueError(f"codes ({count}), coords {np.shape(coords)}, labels ({len(labels)}), "
                         f"errors ({len(errors)}) and indices ({len(indices)}) must describe "
                         f"the same images")
    numbers = [errors, coords, *([codes] if with_codes else [])]
    header = ["index", "label", *(["class"] if class_names is not None else []), "error",
              *"xyz"[:np.shape(coords)[1]],
              *(f"z{dim}" for dim in range(codes.shape[1]) if with_codes)]

    def lines(table: np.ndarray, fmt: str | list[str]) -> list[str]:
        buffer = io.StringIO()
        np.savetxt(buffer, table, delimiter=",", fmt=fmt)
        return buffer.getvalue().splitlines()

    first = lines(np.column_stack([indices, labels]), "%d")
    rest = lines(np.column_stack(numbers), "%.6g")
    if class_names is not None:
        # Through the csv module, so a class name with a comma or a quote stays one field.
        names = io.StringIO()
        writer = csv.writer(names, lineterminator="\n")
        for label in np.asarray(labels):
            writer.writerow([class_names[int(label)] if 0 <= int(label) < len(class_names)
                             else str(int(label))])
        first = [f"{row},{name}" for row, name in zip(first, names.getvalue().splitlines(),
                                                       strict=True)]
    body = [f"{row},{numbers_row}" for row, numbers_row in zip(first, rest, strict=True)]
    return ("\n".join([",".join(header), *body]) + "\n").encode()


def _as_matrix(codes: np.ndarray | torch.Tensor) -> np.ndarray:
    """Codes as a finite (N, D) float64 array, refusing anything else by name."""
    array = codes.detach().cpu().numpy() if isinstance(codes, torch.Tensor) else np.asarray(codes)
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(f"codes must be a non-empty (N, D) array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("codes hold NaN or infinite values")
    return array.astype(np.float64)
