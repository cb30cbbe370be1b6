"""Latent Lab's speed figures, each against a baseline measured in the same run.

    .venv/bin/python benchmarks/bench.py            # about 2-4 minutes on 2 CPU cores
    .venv/bin/python benchmarks/bench.py --quick    # about a minute: fewer epochs and repeats
    .venv/bin/python benchmarks/bench.py --no-app   # skip the `streamlit run` + Chromium part
    .venv/bin/python benchmarks/bench.py --device cuda --training-only --epochs 20  # a GPU

1. Training throughput (digits/s) of `ae_core.train.fit` against the usual loop over a
   `torch.utils.data.DataLoader` whose Dataset returns one digit at a time: the same MLP
   784-512-256-32, Adam, batch size, shuffling and digits; a second baseline makes each digit
   a PIL image and runs ToTensor on it, as torchvision's MNIST does in the tutorials. The
   loops alternate, best of several rounds each, so a neighbour's load hurts all alike. On
   CUDA the baselines are the tutorials' GPU loop (pytorch/examples' vae: one loader worker,
   pinned memory, each batch copied to the card); `fit` keeps every digit on the card.
2. Slider path: decode one code and turn it into a PNG (what a slider drag redraws), in ms.
3. Latent map: encoding the 5,000 embedded digits and PCA (recomputed by the app) against
   reading the UMAP map stored in the checkpoint and UMAP in a fresh process (what it saves).
4. App start: `streamlit run` to the first OK health check, and a fresh Chromium tab to the
   first fully rendered page (Streamlit's "running" indicator gone).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ae_core.checkpoint import load_checkpoint  # noqa: E402
from ae_core.config import ModelConfig, TrainConfig  # noqa: E402
from ae_core.data import EMBEDDED, load_dataset, load_embedded, train_val_split  # noqa: E402
from ae_core.figures import image_png  # noqa: E402
from ae_core.latent import decode_codes, encode_dataset  # noqa: E402
from ae_core.models import build_model  # noqa: E402
from ae_core.train import fit  # noqa: E402
from tests.browser.server import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    ServerError,
    start_streamlit,
    stop,
)

MODEL = ModelConfig(family="ae", latent_dim=32, hidden_sizes=(512, 256))  # 784-512-256-32
BATCH_SIZE = 128
LR = 1e-3


# --- 1. Training throughput ------------------------------------------------------------------

class OneDigitDataset(torch.utils.data.Dataset):
    """The baseline's data path: index one uint8 digit, convert it to a float tensor."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[index].unsqueeze(0).float().div(255.0)  # (1, 28, 28)
        return image, self.labels[index]


class TorchvisionStyleDataset(OneDigitDataset):
    """The tutorials' data path (torchvision's MNIST with ToTensor, as pytorch/examples use):
    each digit becomes a PIL image, then a float tensor."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        from torchvision import transforms

        super().__init__(images, labels)
        self.pixels = images.numpy()
        self.to_tensor = transforms.ToTensor()

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image

        return self.to_tensor(Image.fromarray(self.pixels[index], mode="L")), self.labels[index]


def baseline_epochs(images: torch.Tensor, labels: torch.Tensor, epochs: int, seed: int,
                    dataset_class: type = OneDigitDataset, device: str = "cpu") -> float:
    """Seconds for `epochs` of the usual DataLoader loop on a fresh model."""
    torch.manual_seed(seed)
    model = build_model(MODEL).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    # pytorch/examples' vae/main.py on a GPU: {'num_workers': 1, 'pin_memory': True}
    on_gpu = {"num_workers": 1, "pin_memory": True} if device == "cuda" else {}
    loader = torch.utils.data.DataLoader(dataset_class(images, labels),
                                         batch_size=BATCH_SIZE, shuffle=True, **on_gpu)
    started = time.perf_counter()
    for _ in range(epochs):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = model.loss(x, model(x, y))["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    synchronize(device)
    return time.perf_counter() - started


def synchronize(device: str) -> None:
    """Wait for the card: its work is queued, and the clock must not stop before it is done."""
    if device == "cuda":
        torch.cuda.synchronize()


def fit_epochs(train, epochs: int, seed: int, device: str = "cpu", **options) -> float:
    """Seconds for `epochs` of ae_core.train.fit (no validation set) on a fresh model;
    `options` are TrainConfig fields (precision, compile_mode)."""
    torch.manual_seed(seed)
    model = build_model(MODEL)
    config = TrainConfig(epochs=epochs, batch_size=BATCH_SIZE, lr=LR, device=device, seed=seed,
                         **options)
    started = time.perf_counter()
    fit(model, train, None, config)
    synchronize(device)
    return time.perf_counter() - started


def training_digits(dataset: str):
    """The training split of `dataset`: the 4,500 embedded digits unless another is named."""
    source = load_embedded() if dataset == EMBEDDED else load_dataset(dataset, "train")
    return train_val_split(source, 0.1, 0)[0]


def bench_training(epochs: int, rounds: int, device: str = "cpu", dataset: str = EMBEDDED,
                   **options) -> dict[str, float]:
    train = training_digits(dataset)
    digits = len(train) * epochs
    # A short warm-up of both paths, so neither pays for first-call allocation (nor for
    # torch.compile's first compilation).
    fit_epochs(train, 1, 0, device, **options)
    baseline_epochs(train.images, train.labels, 1, 0, device=device)
    fit_times, baseline_times, pil_times = [], [], []
    for round_index in range(rounds):
        fit_times.append(fit_epochs(train, epochs, round_index, device, **options))
        baseline_times.append(baseline_epochs(train.images, train.labels, epochs, round_index,
                                              device=device))
        pil_times.append(baseline_epochs(train.images, train.labels, epochs, round_index,
                                         TorchvisionStyleDataset, device))
    fit_rate = digits / min(fit_times)
    baseline_rate = digits / min(baseline_times)
    pil_rate = digits / min(pil_times)
    return {"digits_per_epoch": len(train), "epochs": epochs, "rounds": rounds,
            "fit_digits_per_s": fit_rate, "baseline_digits_per_s": baseline_rate,
            "pil_digits_per_s": pil_rate,
            "ratio": fit_rate / baseline_rate, "pil_ratio": fit_rate / pil_rate,
            "fit_median_digits_per_s": digits / statistics.median(fit_times),
            "baseline_median_digits_per_s": digits / statistics.median(baseline_times),
            "pil_median_digits_per_s": digits / statistics.median(pil_times)}


# --- 2. Slider path --------------------------------------------------------------------------

def bench_slider(repeats: int) -> dict[str, float]:
    path = ROOT / "checkpoints" / "ae_32.safetensors"
    checkpoint = load_checkpoint(path)
    digits = load_embedded()
    code = encode_dataset(checkpoint.model, digits.float_images()[:1], digits.labels[:1]).codes
    times = []
    for step in range(repeats + 5):
        moved = code.clone()
        moved[0, step % code.shape[1]] += 0.1  # a slider moved
        started = time.perf_counter()
        png = image_png(decode_codes(checkpoint.model, moved)[0], scale=8)
        elapsed = time.perf_counter() - started
        if step >= 5:  # the first calls warm up allocators
            times.append(elapsed * 1000)
    times.sort()
    return {"checkpoint": path.name, "repeats": repeats, "png_bytes": len(png),
            "median_ms": statistics.median(times),
            "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))]}


# --- 3. Latent map: what is stored, what is recomputed --------------------------------------

UMAP_COLD = """
import time
started = time.perf_counter()
from ae_core.checkpoint import load_checkpoint
from ae_core.data import load_embedded
from ae_core.latent import encode_dataset
from ae_core.projection import project
digits = load_embedded()
checkpoint = load_checkpoint({path!r})
codes = encode_dataset(checkpoint.model, digits.float_images(), digits.labels).codes
project(codes, "umap")
print(time.perf_counter() - started)
"""


def bench_latent_map(umap_cold: bool) -> dict[str, float]:
    """Encode the 5,000 embedded digits and PCA them (recomputed by the app) against reading
    the stored UMAP map and against UMAP from scratch in a fresh process (what it saves)."""
    from ae_core.projection import PCAProjection, precomputed_key, precomputed_projection

    digits = load_embedded()
    images = digits.float_images()
    figures: dict[str, float] = {}
    for name in ("ae_32", "conv_ae_32", "vqvae"):
        path = ROOT / "checkpoints" / f"{name}.safetensors"
        if not path.exists():
            continue
        started = time.perf_counter()
        checkpoint = load_checkpoint(path)
        figures[f"{name}_load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        codes = encode_dataset(checkpoint.model, images, digits.labels).codes
        figures[f"{name}_encode_s"] = time.perf_counter() - started
        started = time.perf_counter()
        PCAProjection(2).fit_transform(codes)
        figures[f"{name}_pca_s"] = time.perf_counter() - started
        started = time.perf_counter()
        stored = precomputed_projection(checkpoint.extras, precomputed_key("umap", "embedded"),
                                        len(digits))
        figures[f"{name}_stored_umap_s"] = (time.perf_counter() - started
                                            if stored is not None else float("nan"))
    if umap_cold:
        code = UMAP_COLD.format(path=str(ROOT / "checkpoints" / "ae_32.safetensors"))
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                text=True, timeout=600)
        if result.returncode == 0:
            figures["umap_fresh_process_s"] = float(result.stdout.strip().splitlines()[-1])
    return figures


# --- 4. App start ----------------------------------------------------------------------------

def bench_app(timeout: float = 90.0) -> dict[str, float] | str:
    if not Path(CHROMIUM).exists():
        return f"skipped: no Chromium at {CHROMIUM}"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    log = tempfile.TemporaryFile()
    started = time.perf_counter()
    try:
        server, url = start_streamlit("app.py", log, timeout)
    except ServerError:
        log.seek(0)
        return "failed: streamlit did not start\n" + log.read().decode()[-2000:]
    try:
        health_s = time.perf_counter() - started
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            opened = time.perf_counter()
            tab.goto(url)
            tab.wait_for_selector("[data-testid='stApp']", timeout=timeout * 1000)
            # Rendered: at least one element drawn, and the "running" indicator gone.
            tab.wait_for_selector("[data-testid='stMarkdownContainer']", timeout=timeout * 1000)
            tab.wait_for_function(
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                timeout=timeout * 1000)
            render_s = time.perf_counter() - opened
            browser.close()
        return {"health_s": health_s, "first_render_s": render_s,
                "interactive_s": health_s + render_s}
    finally:
        stop(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    parser.add_argument("--no-app", action="store_true", help="skip the streamlit/Chromium part")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads for parts 1-3 (default: torch's own choice)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="where part 1 trains, fit and baselines alike")
    parser.add_argument("--training-only", action="store_true", help="part 1 alone")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per round of part 1 (default 3, 1 with --quick)")
    parser.add_argument("--dataset", default=EMBEDDED,
                        help="part 1's digits: mnist-embedded, or an MNIST idx folder")
    parser.add_argument("--precision", default="float32", help="fit's TrainConfig.precision")
    parser.add_argument("--compile-mode", default="none", help="fit's TrainConfig.compile_mode")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    epochs, rounds, repeats = (1, 2, 50) if args.quick else (3, 3, 200)
    epochs = args.epochs or epochs

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.device == "cuda":
        print(f"card: {torch.cuda.get_device_name()}, CUDA {torch.version.cuda}", flush=True)
    training = bench_training(epochs, rounds, args.device, args.dataset,
                              precision=args.precision, compile_mode=args.compile_mode)
    print(f"1. training throughput on {args.device}, MLP 784-512-256-32, batch {BATCH_SIZE}, "
          f"{training['digits_per_epoch']} digits x {epochs} epochs, best of {rounds}; fit "
          f"with precision {args.precision}, compile_mode {args.compile_mode}:\n"
          f"   ae_core.train.fit          {training['fit_digits_per_s']:9.0f} digits/s "
          f"(median {training['fit_median_digits_per_s']:.0f})\n"
          f"   DataLoader per-sample loop {training['baseline_digits_per_s']:9.0f} digits/s "
          f"(median {training['baseline_median_digits_per_s']:.0f}): "
          f"ratio {training['ratio']:.2f}x (target >= 4x)\n"
          f"   same, PIL + ToTensor per digit {training['pil_digits_per_s']:6.0f} digits/s "
          f"(median {training['pil_median_digits_per_s']:.0f}): "
          f"ratio {training['pil_ratio']:.2f}x", flush=True)
    if args.training_only:
        return 0
    slider = bench_slider(repeats)
    print(f"2. slider path (decode one code + 224x224 PNG, {slider['checkpoint']}): median "
          f"{slider['median_ms']:.2f} ms, p95 {slider['p95_ms']:.2f} ms over {repeats} "
          f"(budget for a whole redraw: 150 ms)", flush=True)
    latent = bench_latent_map(umap_cold=not args.quick)
    lines = [f"   {name}: load {latent[f'{name}_load_s'] * 1000:.0f} ms, encode 5,000 digits "
             f"{latent[f'{name}_encode_s'] * 1000:.0f} ms, PCA to 2-D "
             f"{latent[f'{name}_pca_s'] * 1000:.1f} ms, read stored UMAP "
             f"{latent[f'{name}_stored_umap_s'] * 1000:.2f} ms"
             for name in ("ae_32", "conv_ae_32", "vqvae") if f"{name}_load_s" in latent]
    cold = (f"{latent['umap_fresh_process_s']:.1f} s" if "umap_fresh_process_s" in latent
            else "not measured (--quick)")
    print("3. latent map of the embedded digits (recomputed: codes, PCA; stored: UMAP):\n"
          + "\n".join(lines) + f"\n   UMAP of ae_32's codes in a fresh process (import, "
          f"numba compile, fit): {cold}", flush=True)
    if args.no_app:
        return 0
    app = bench_app()
    if isinstance(app, str):
        print(f"4. app start: {app}")
    else:
        print(f"4. app start: health check OK after {app['health_s']:.2f} s; first page "
              f"rendered {app['first_render_s']:.2f} s after opening a tab; interactive "
              f"{app['interactive_s']:.2f} s after `streamlit run` (target 5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
