"""Print the overcomplete table of docs/quality.md: one 784 -> 1024 -> 784 model per
regulariser (none, sparsity, denoising, contraction) trained on the 5,000 embedded digits,
scored on the MNIST test set and on uniform noise.

    .venv/bin/python scripts/overcomplete_table.py [--dataset ../shared/data/mnist] [--epochs 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ae_core.data import load_dataset
from ae_core.overcomplete import compare_regularisers, regulariser_markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default=str(Path(__file__).resolve().parents[2]
                                                 / "shared" / "data" / "mnist"))
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    test = load_dataset(args.dataset, "test")
    rows = compare_regularisers(test, epochs=args.epochs)
    print(regulariser_markdown(rows))
    print(f"{len(test):,} test digits, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
