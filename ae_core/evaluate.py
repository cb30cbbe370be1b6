"""Scoring a model on held-out digits, beside the same-size PCA baseline."""

from __future__ import annotations

import math

import torch

from ae_core.data import Dataset
from ae_core.latent import encode_dataset, model_device
from ae_core.metrics import knn_accuracy, linear_probe_accuracy, pca_baseline_mse, psnr
from ae_core.models import Autoencoder
from ae_core.noise import corrupt
from ae_core.train import evaluate_terms


@torch.inference_mode()
def evaluate_model(model: Autoencoder, test: Dataset, train: Dataset | None = None,
                   probes: bool = False, denoise_sigma: float | None = None,
                   seed: int = 0) -> dict[str, float]:
    """Test metrics: MSE per pixel, PSNR, loss terms (the VAE's negative ELBO in nats), and,
    when `train` is given, PCA with as many components as the code has numbers; `probes`
    adds linear-probe and k-NN accuracy of the codes; `denoise_sigma` adds the PSNR of noisy
    inputs and of their reconstructions at that Gaussian noise level.
    """
    device = model_device(model)
    images = test.float_images(device)
    labels = test.labels.to(device)
    encoded = encode_dataset(model, images, labels)
    recon_mse = float(encoded.errors.mean())
    metrics = {
        f"test_{test.image_kind.plural}": float(len(test)),  # test_digits, test_images
        "mse_per_pixel": recon_mse,
        "psnr_db": float((-10 * torch.log10(encoded.errors.clamp_min(1e-10))).mean()),
    }
    torch.manual_seed(seed)  # a VAE's ELBO estimate samples its codes
    terms = evaluate_terms(model, images, labels)
    metrics.update({name: value for name, value in terms.items() if name != "loss"})
    if train is not None:
        components = int(encoded.codes.shape[1])  # positions x dimension for a VQ-VAE
        metrics["pca_components"] = float(components)
        metrics["pca_mse_per_pixel"] = pca_baseline_mse(
            train.float_images(), test.float_images(), components)
        metrics["mse_ratio_to_pca"] = recon_mse / max(metrics["pca_mse_per_pixel"], 1e-12)
    if probes and train is not None:
        train_encoded = encode_dataset(model, train.float_images(device), train.labels.to(device))
        args = (train_encoded.codes.numpy(), train.labels.numpy(), encoded.codes.numpy(),
                test.labels.numpy())
        metrics["linear_probe_accuracy"] = linear_probe_accuracy(*args)
        metrics["knn_accuracy"] = knn_accuracy(*args)
    if denoise_sigma:
        generator = torch.Generator().manual_seed(seed)
        noisy = corrupt(images, "gaussian", denoise_sigma, generator)
        cleaned = model.reconstruct(noisy, labels)
        metrics["noisy_psnr_db"] = float(psnr(images, noisy).mean())
        metrics["denoised_psnr_db"] = float(psnr(images, cleaned).mean())
    return {name: value for name, value in metrics.items() if math.isfinite(value)}
