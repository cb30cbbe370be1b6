"""A latent map of 10,000 and of 70,000 images: time of each step and peak memory.

    nice -n 5 .venv/bin/python benchmarks/big_map.py [--model PATH] [--sizes 10000 70000]

For each size (Fashion-MNIST's test set, then all 70,000 of its images) two fresh processes
run: one times the library steps the map takes (load the idx files, encode in batches of
1,000 from uint8, PCA of every code, the Plotly figure of the default 5,000-point sample and
of every point, and the JSON the browser receives), the other opens the Latent map page
under Streamlit's AppTest, draws the map of that source (PCA), then of every point, and
reports its peak resident memory (ru_maxrss: the whole process, torch and Streamlit
included). No UMAP runs: it stays in the background as before (a 70,000-point UMAP takes
minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SOURCES = {10_000: "fashion-test", 70_000: "fashion-all"}
DEFAULT_MODEL = ROOT / "checkpoints" / "fashion_conv_ae_32.safetensors"
DRAWN = 5000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def library(source: str, model_path: Path) -> dict:
    """Seconds of each step of the map on `source`, and the process's peak memory."""
    import torch

    torch.set_num_threads(1)
    from ae_core.checkpoint import load_checkpoint
    from ae_core.data import load_dataset, load_full
    from ae_core.figures import latent_map
    from ae_core.latent import encode_dataset
    from ae_core.projection import project, subsample

    model = load_checkpoint(model_path).model
    project(torch.randn(100, 4), "pca")  # imports scikit-learn, as the app has by then
    baseline = _peak_mb()
    times: dict[str, float] = {}
    started = time.perf_counter()
    dataset = load_full("fashion-mnist") if source == "fashion-all" else load_dataset(
        "fashion-mnist", "test")
    times["load idx files"] = time.perf_counter() - started
    started = time.perf_counter()
    encoded = encode_dataset(model, dataset.images, dataset.labels)
    times["encode (batches of 1,000)"] = time.perf_counter() - started
    started = time.perf_counter()
    coords = project(encoded.codes, "pca").coords
    times["PCA of every code"] = time.perf_counter() - started
    labels, errors = dataset.labels.numpy(), encoded.errors.numpy()
    for name, size in ((f"{DRAWN:,} drawn", DRAWN), ("all drawn", None)):
        started = time.perf_counter()
        drawn = subsample(len(coords), size)
        figure = latent_map(coords[drawn], labels[drawn], errors[drawn], dataset.class_names,
                            indices=drawn)
        payload = figure.to_json()
        times[f"figure + JSON, {name}"] = time.perf_counter() - started
        times[f"JSON MB, {name}"] = len(payload) / 1e6
    return {"images": len(dataset), "times": times, "baseline_mb": baseline,
            "peak_mb": _peak_mb()}


def app(source: str, model_path: Path) -> dict:
    """The Latent map page under AppTest: seconds to draw `source`, then all its points."""
    os.environ["LATENT_LAB_UMAP_WARMUP"] = "0"
    os.environ["LATENT_LAB_CHECKPOINTS"] = str(model_path.parent)
    from streamlit.testing.v1 import AppTest

    from ui import state

    state.CHECKPOINT_DIR = model_path.parent
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=1200)
    at.session_state[state.ACTIVE_MODEL] = f"shipped: {model_path.stem}"
    at.run()
    at.switch_page("app_pages/latent_map.py").run()
    baseline = _peak_mb()
    started = time.perf_counter()
    at.selectbox(key="latent_map_source").set_value(source)
    at.radio(key="latent_map_method").set_value("pca")
    at.button(key="FormSubmitter:latent_map_form-Draw map").click().run()
    first = time.perf_counter() - started
    assert not at.exception, at.exception
    points = [len(trace["customdata"]) for trace in
              json.loads(at.get("plotly_chart")[0].proto.spec)["data"]]
    started = time.perf_counter()
    at.selectbox(key="latent_map_points").set_value("all").run()
    every = time.perf_counter() - started
    assert not at.exception, at.exception
    started = time.perf_counter()
    at.selectbox(key="latent_map_points").set_value(DRAWN).run()
    back = time.perf_counter() - started
    return {"times": {f"page: encode + PCA + draw {sum(points):,} points": first,
                      "page: redraw with every point": every,
                      f"page: back to {DRAWN:,} points (codes cached)": back},
            "baseline_mb": baseline, "peak_mb": _peak_mb()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--sizes", type=int, nargs="+", default=sorted(SOURCES),
                        choices=sorted(SOURCES))
    parser.add_argument("--child", nargs=2, metavar=("PART", "SOURCE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        part, source = args.child
        print(json.dumps((library if part == "library" else app)(source, args.model)))
        return 0
    print(f"model: {args.model.name}; {os.cpu_count()} CPUs; torch 1 thread")
    for size in args.sizes:
        for part in ("library", "app"):
            output = subprocess.run(
                [sys.executable, __file__, "--model", str(args.model), "--child", part,
                 SOURCES[size]], check=True, capture_output=True, text=True, cwd=ROOT).stdout
            result = json.loads(output.strip().splitlines()[-1])
            print(f"{size:,} images, {part}: peak {result['peak_mb']:.0f} MB "
                  f"(after imports and model {result['baseline_mb']:.0f} MB)")
            for name, value in result["times"].items():
                unit = "" if name.startswith("JSON") else " s"
                print(f"  {name}: {value:.2f}{unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
