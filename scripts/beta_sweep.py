"""Write docs/disentanglement.md: is a beta-VAE more disentangled? A small beta sweep on the
embedded digits, and the shipped ae_32, vae_20 and beta_vae_20, scored by MIG against the stroke
measurements and the class (ae_core.disentanglement).

    nice .venv/bin/python scripts/beta_sweep.py [--epochs 20] [--betas 1 2 4 8]

The sweep's models are MLP VAEs (784-256-10) trained on the 4,500 embedded training digits with
the same seed; every model is scored on the mean codes of the 5,000 embedded digits, whose
measurements checkpoints/attributes stores (scripts/store_attributes.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from ae_core.attributes import measure_dataset  # noqa: E402
from ae_core.checkpoint import load_checkpoint  # noqa: E402
from ae_core.data import load_embedded  # noqa: E402
from ae_core.disentanglement import (  # noqa: E402
    beta_sweep,
    measure_disentanglement,
    sweep_markdown,
    sweep_summary,
)
from ae_core.latent import encode_dataset  # noqa: E402

SHIPPED = ("ae_32", "vae_20", "beta_vae_20")


def shipped_table(digits, values) -> str:
    lines = ["| model | MIG (mean) | area | length | thickness | slant | width | height | "
             "class |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in SHIPPED:
        path = ROOT / "checkpoints" / f"{name}.safetensors"
        if not path.is_file():
            continue
        model = load_checkpoint(path).model.eval()
        codes = encode_dataset(model, digits.float_images(), digits.labels).codes.numpy()
        scores = measure_disentanglement(codes, values, digits.labels.numpy())
        gaps = " | ".join(f"{gap:.3f}" for gap in scores.gaps)
        lines.append(f"| {name} | **{scores.mig:.3f}** | {gaps} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--betas", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "disentanglement.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    digits = load_embedded()
    values = measure_dataset(digits)
    shipped = shipped_table(digits, values)
    rows = beta_sweep(digits.float_images(), digits.labels, values, tuple(args.betas),
                      args.latent_dim, args.epochs, seeds=tuple(args.seeds),
                      progress=lambda row: print(f"beta {row.beta:g} seed {row.seed}: MIG "
                                                 f"{row.mig:.3f}", flush=True))
    seconds = time.perf_counter() - started
    text = HEADER.format(epochs=args.epochs, latent_dim=args.latent_dim,
                         betas=" ".join(f"{beta:g}" for beta in args.betas),
                         seeds=len(args.seeds), seconds=seconds) + \
        "\n## The shipped models\n\n" + shipped + "\n## A beta sweep\n\n" + \
        sweep_markdown(rows) + "\n" + verdict(rows)
    args.out.write_text(text)
    print(text)
    return 0


def verdict(rows) -> str:
    """What the sweep shows, in a few sentences, whichever way it falls."""
    summary = sweep_summary(rows)
    betas = list(summary)
    means = [summary[beta][0] for beta in betas]
    spread = max(high - low for _, low, high in summary.values())
    rising = all(later >= earlier for earlier, later in zip(means, means[1:], strict=False))
    trend = ("the mean MIG rises with every step of beta" if rising else
             "the mean MIG does not rise steadily with beta")
    per_beta = ", ".join(f"beta {beta:g}: {mean:.3f} ({low:.3f}–{high:.3f})"
                         for beta, (mean, low, high) in summary.items())
    first = [row for row in rows if row.beta == betas[0]]
    last = [row for row in rows if row.beta == betas[-1]]
    recon_first = np.mean([row.recon_loss for row in first])
    recon_last = np.mean([row.recon_loss for row in last])
    return (f"**What it shows.** Over the seeds, {trend} ({per_beta}; mean, then lowest and "
            f"highest seed). Seeds alone move a beta's MIG by up to {spread:.3f}, so a "
            f"difference smaller than that is not a finding. The price is paid in "
            f"reconstruction: {recon_first:.1f} nats per digit at beta {betas[0]:g}, "
            f"{recon_last:.1f} at beta {betas[-1]:g}. A MIG of 1 would be one dimension per "
            f"factor; every value here is far below it: on these digits and factors a larger "
            f"beta separates the factors a little at most.\n")


HEADER = """# Is a beta-VAE more disentangled? Measured

The tutorials (002) say a beta-VAE (beta > 1) is "more disentangled". Here that is measured
with the mutual-information gap (MIG; Chen et al. 2018, computed as disentanglement_lib and
Morpho-MNIST do: 20 equal-width bins, per factor the gap between the two dimensions that tell
most about it, over its entropy) against seven factors of each digit: Morpho-MNIST's stroke
measurements (area, length, thickness, slant, width, height; ae_core/morphometry.py) and the
class. MNIST has no ground-truth generative factors; these measured ones stand in for them, as
in Morpho-MNIST's own disentanglement study (Castro et al. 2019).

Generated by `scripts/beta_sweep.py` (betas {betas}; MLP VAEs 784-256-{latent_dim}, {epochs}
epochs on the 4,500 embedded training digits, {seeds} seeds each; scored on the 5,000
embedded digits' mean codes) in {seconds:.0f} s on a shared 2-core CPU. `python -m ae_core
attributes CKPT` prints any model's per-dimension table; the AE vs VAE page shows the heat
maps.
"""


if __name__ == "__main__":
    sys.exit(main())
