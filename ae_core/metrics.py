"""Quality figures: pixel error, PSNR, SSIM, ROC AUC, the PCA baseline and probes of the codes."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def mse_per_image(x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """(B, ...) pairs in [0, 1] -> (B,) mean squared error per pixel of each image."""
    return (x - recon).pow(2).flatten(1).mean(dim=1)


def psnr(x: torch.Tensor, recon: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """(B, ...) pairs in [0, 1] -> (B,) peak signal-to-noise ratio in dB (peak 1)."""
    return -10.0 * torch.log10(mse_per_image(x, recon).clamp_min(eps))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    weights = torch.exp(-(coords**2) / (2 * sigma**2))
    weights /= weights.sum()
    return (weights[:, None] * weights[None, :]).view(1, 1, size, size)


def ssim(x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) pairs in [0, 1] -> (B,) structural similarity (Wang et al. 2004).

    Gaussian window 11x11, sigma 1.5, K1=0.01, K2=0.03, data range 1, valid region only:
    the settings of the paper and of scikit-image's `gaussian_weights=True`.
    """
    window = _gaussian_window().to(x.device, x.dtype)
    c1, c2 = 0.01**2, 0.03**2

    def blur(image: torch.Tensor) -> torch.Tensor:
        return F.conv2d(image, window)

    mu_x, mu_y = blur(x), blur(recon)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(recon * recon) - mu_y**2
    cov = blur(x * recon) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(dim=1)


def _labelled(scores_normal: np.ndarray, scores_anomalous: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Truth (anomalous = 1) and scores, for scikit-learn's ranking metrics."""
    scores = np.concatenate([scores_normal, scores_anomalous]).astype(np.float64)
    truth = np.concatenate([np.zeros(len(scores_normal)), np.ones(len(scores_anomalous))])
    return truth, scores


def roc_curve(scores_normal: np.ndarray, scores_anomalous: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct score (higher = more anomalous),
    from (0, 0) at an infinite threshold: scikit-learn's `roc_curve`."""
    from sklearn.metrics import roc_curve as sklearn_roc_curve

    # Every distinct score keeps its point (tied scores still make one point, not a staircase).
    fpr, tpr, thresholds = sklearn_roc_curve(*_labelled(scores_normal, scores_anomalous),
                                             drop_intermediate=False)
    return fpr, tpr, thresholds


def roc_auc(scores_normal: np.ndarray, scores_anomalous: np.ndarray) -> float:
    """Area under the ROC curve: scikit-learn's `roc_auc_score`."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(*_labelled(scores_normal, scores_anomalous)))


def fit_pca(train: np.ndarray | torch.Tensor, components: int):
    """scikit-learn's PCA with up to `components` axes, fitted on (M, P) rows: the one PCA of
    Latent Lab (baselines, curves, 2-D views). Randomised SVD with a fixed seed: fast on
    784-pixel rows and the same axes every run."""
    from sklearn.decomposition import PCA

    rows = train.flatten(1).double().cpu().numpy() if torch.is_tensor(train) else train
    components = max(1, min(components, rows.shape[0], rows.shape[1]))
    return PCA(n_components=components, svd_solver="randomized", random_state=0).fit(rows)


def angles_to_pca(basis: torch.Tensor, train_images: torch.Tensor) -> np.ndarray:
    """(P, D) basis -> (D,) principal angles in degrees, largest first, between its column
    space and that of PCA's top D axes fitted on (M, 1, 28, 28) train images: 0 everywhere
    when a linear autoencoder has found PCA's subspace (Baldi & Hornik 1989)."""
    from scipy.linalg import subspace_angles

    basis = basis.detach().double().cpu().numpy()
    axes = fit_pca(train_images, basis.shape[1]).components_.T  # (P, D)
    return np.degrees(subspace_angles(basis, axes))


def pca_reconstruction(train: np.ndarray, test: np.ndarray, components: int) -> np.ndarray:
    """(N, P) test rows rebuilt from the top `components` principal axes of (M, P) train rows."""
    pca = fit_pca(train, components)
    return pca.inverse_transform(pca.transform(test))


def pca_baseline_mse(train_images: torch.Tensor, test_images: torch.Tensor,
                     components: int) -> float:
    """MSE per pixel of PCA with `components` axes fitted on train, scored on test.

    The linear baseline every autoencoder should beat at the same code size (a linear AE
    trained with MSE spans the same subspace; Baldi & Hornik 1989).
    """
    train = train_images.flatten(1).float().cpu().numpy()
    test = test_images.flatten(1).float().cpu().numpy()
    recon = np.clip(pca_reconstruction(train, test, components), 0.0, 1.0)
    return float(np.mean((recon - test) ** 2))


def fit_linear_probe(train_codes: np.ndarray, train_labels: np.ndarray):
    """A logistic regression on standardised codes, fitted: (N, D), (N,) -> a scikit-learn
    pipeline with `predict` and `predict_proba` on (M, D) codes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return probe.fit(train_codes, train_labels)


def linear_probe_accuracy(train_codes: np.ndarray, train_labels: np.ndarray,
                          test_codes: np.ndarray, test_labels: np.ndarray) -> float:
    """Accuracy of a logistic regression on standardised codes: how linear the classes are."""
    probe = fit_linear_probe(train_codes, train_labels)
    return float(probe.score(test_codes, test_labels))


def knn_accuracy(train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray,
                 test_labels: np.ndarray, neighbours: int = 5) -> float:
    """Accuracy of a k-nearest-neighbour vote in code space: how local the classes are."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=min(neighbours, len(train_codes)))
    knn.fit(train_codes, train_labels)
    return float(knn.score(test_codes, test_labels))
