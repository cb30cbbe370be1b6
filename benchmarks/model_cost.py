"""What a model costs the server the first time a page shows it, against its multiply-adds.

    PYTHONPATH=. .venv/bin/python benchmarks/model_cost.py
    PYTHONPATH=. .venv/bin/python benchmarks/model_cost.py --repeats 3

The compute budget (ae_core/compute.py MAX_MACS) is set from this table. For the shipped
ae_32 and conv_ae_32, the lstm_ae default, conv_ae models of about 5, 8, 10, 14 and 20 M
multiply-adds per image and a few other shapes near the budget (random weights, saved as
checkpoints in a temporary folder), with one torch thread as the app runs, it times what the
first visit to a page pays for a model no page has shown yet: reading and validating the
checkpoint, encoding the 5,000 embedded digits (codes and errors: every page's first step),
the Home page's previews, and the decoder the Sliders page sends to the browser (ONNX
export). CPU seconds are what the server pays; the wall clock also shows the machine's other
load. A config past the budget is built directly (its checkpoint would be refused), so the
table shows what the budget keeps out. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from ae_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from ae_core.compute import MAX_MACS, count_model_cost  # noqa: E402
from ae_core.config import ModelConfig  # noqa: E402
from ae_core.data import load_embedded  # noqa: E402
from ae_core.export import decoder_onnx  # noqa: E402
from ae_core.latent import encode_dataset  # noqa: E402
from ae_core.previews import page_previews  # noqa: E402
from ae_core.projection import project  # noqa: E402
from ae_core.registry import family_class  # noqa: E402

SHIPPED = PROJECT_ROOT / "checkpoints"
BUILT = {  # name -> config, built with random weights
    "lstm_ae default": ModelConfig(family="lstm_ae"),
    "conv_ae (40, 80)": ModelConfig(family="conv_ae", conv_channels=(40, 80)),
    "conv_ae (48, 96)": ModelConfig(family="conv_ae", conv_channels=(48, 96)),
    "conv_ae (56, 112)": ModelConfig(family="conv_ae", conv_channels=(56, 112)),
    "conv_ae (64, 128)": ModelConfig(family="conv_ae", conv_channels=(64, 128)),
    "conv_ae (78, 156)": ModelConfig(family="conv_ae", conv_channels=(78, 156)),
    # Other shapes near the budget: a wide MLP, an LSTM fed a long code, a VQ-VAE.
    "ae (2048, 1024)": ModelConfig(family="ae", hidden_sizes=(2048, 1024)),
    "lstm_ae code 256": ModelConfig(family="lstm_ae", latent_dim=256),
    "lstm_ae code 512": ModelConfig(family="lstm_ae", latent_dim=512),
    "vqvae (44, 88)": ModelConfig(family="vqvae", conv_channels=(44, 88)),
    "vqvae (48, 96)": ModelConfig(family="vqvae", conv_channels=(48, 96)),
}


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def first_visit(path: Path, config: ModelConfig, images: torch.Tensor,
                labels: torch.Tensor) -> dict[str, float]:
    """CPU seconds of each step a first page visit runs for the checkpoint at `path`, and
    the wall-clock seconds of all of them ("wall")."""
    seconds = {}
    wall = time.perf_counter()
    start = time.process_time()

    def lap(step: str) -> None:
        nonlocal start
        seconds[step] = time.process_time() - start
        start = time.process_time()

    try:
        model = load_checkpoint(path).model
    except CheckpointError:  # past the budget: build it directly to time it all the same
        model = family_class(config.family)(config).eval()
    lap("load")
    encoded = encode_dataset(model, images, labels)
    lap("encode")
    coords = project(encoded.codes, "pca").coords
    page_previews(model, images, labels, encoded.codes, encoded.errors, coords)
    lap("previews")
    decoder_onnx(model)
    lap("onnx")
    seconds["wall"] = time.perf_counter() - wall
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per model (best kept)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the app runs (app.py)
    digits = load_embedded()
    images, labels = digits.float_images(), digits.labels
    with tempfile.TemporaryDirectory() as folder:
        models = [(name, SHIPPED / f"{name}.safetensors") for name in ("ae_32", "conv_ae_32")]
        torch.manual_seed(0)
        for name, config in BUILT.items():
            path = Path(folder) / f"{name.replace(' ', '_')}.safetensors"
            save_checkpoint(path, family_class(config.family)(config).eval())
            models.append((name, path))
        first_visit(models[0][1], ModelConfig(), images, labels)  # one-time imports (ONNX export)
        print(f"one torch thread, budget {MAX_MACS / 1e6:.0f} M; "
              f"load average {load_average()}")
        print("CPU seconds per step (best of --repeats), their total, and the wall clock")
        print(f"{'model':20s} {'M MACs':>7s} {'load':>6s} {'encode':>7s} {'previews':>9s} "
              f"{'onnx':>6s} {'CPU s':>6s} {'wall s':>7s}")
        for name, path in models:
            config = BUILT.get(name) or load_checkpoint(path).model_config
            runs = [first_visit(path, config, images, labels) for _ in range(args.repeats)]
            best = min(runs, key=lambda run: run["wall"])
            cpu = sum(value for step, value in best.items() if step != "wall")
            macs = count_model_cost(config).macs / 1e6
            print(f"{name:20s} {macs:7.1f} {best['load']:6.2f} {best['encode']:7.2f} "
                  f"{best['previews']:9.2f} {best['onnx']:6.2f} {cpu:6.2f} {best['wall']:7.2f}",
                  flush=True)
        print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
