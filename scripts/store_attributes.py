"""Store what the sliders page's attribute sliders need and would otherwise compute on a visit:

    PYTHONPATH=. .venv/bin/python scripts/store_attributes.py            # what is missing
    PYTHONPATH=. .venv/bin/python scripts/store_attributes.py --force    # effects again

- checkpoints/attributes/embedded_morphometry.npz: the stroke measurements of the 5,000
  embedded digits (ae_core.morphometry; about half a minute of CPU, the same for every model),
  with a hash of the images they are of;
- checkpoints/attributes/effects.json: per shipped digit model (under its file's hash), what
  +1 SD along its thickness, slant and width directions does to 300 digits' decodes, measured
  (ae_core.attributes.attribute_effects), judged by the pixel probe the AE-vs-VAE page uses
  (a logistic regression on the first 5,000 embedded digits' pixels).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from ae_core.attributes import (  # noqa: E402
    MEASUREMENTS_FILE,
    attribute_effects,
    fit_directions,
    measure,
    store_effects,
    store_measurements,
    stored_effects,
    stored_measurements,
)
from ae_core.checkpoint import list_checkpoints, load_checkpoint  # noqa: E402
from ae_core.data import dataset_kind, load_embedded  # noqa: E402
from ae_core.latent import encode_dataset  # noqa: E402
from ae_core.smoothness import ImageProbe  # noqa: E402

PROBE_IMAGES = 5000  # the AE-vs-VAE page's judge learns from the same digits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=ROOT / "checkpoints")
    parser.add_argument("--force", action="store_true", help="measure every model's effects again")
    parser.add_argument("--remeasure", action="store_true",
                        help="measure the embedded digits again")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    digits = load_embedded()
    values = None if args.remeasure else stored_measurements(digits)
    if values is None:
        started = time.perf_counter()
        values = measure(digits.images)
        store_measurements(digits, values)
        print(f"{MEASUREMENTS_FILE.name}: {len(values):,} digits measured in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    probe = None
    for path in list_checkpoints(args.folder):
        checkpoint = load_checkpoint(path)
        if checkpoint.train_config is not None and \
                dataset_kind(checkpoint.train_config.dataset) != "mnist":
            print(f"{path.name}: not a digit model; skipped", flush=True)
            continue
        if stored_effects(path) is not None and not args.force:
            print(f"{path.name}: stored already; skipped", flush=True)
            continue
        if probe is None:
            probe = ImageProbe().fit(digits.float_images()[:PROBE_IMAGES],
                                     digits.labels[:PROBE_IMAGES])
        started = time.perf_counter()
        model = checkpoint.model.eval()
        codes = encode_dataset(model, digits.float_images(), digits.labels).codes
        directions = fit_directions(codes.numpy(), values)
        effects = attribute_effects(model, codes, digits.labels, directions, probe)
        store_effects(path, effects)
        summary = ", ".join(f"{name} {effect.change:+.2f} ({effect.class_kept:.0%} kept)"
                            for name, effect in effects.items())
        print(f"{path.name}: {summary} in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
