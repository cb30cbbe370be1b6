"""Measure ahead what every visitor of a shipped model would otherwise wait for, into
checkpoints/precomputed.json (ui/precomputed.py; commit the file with the checkpoints).

    PYTHONPATH=. .venv/bin/python scripts/precompute.py          # after a checkpoint changes

Opens, under Streamlit's AppTest (the pages' own code, nothing copied), Home, AE vs VAE,
Bottleneck effect and Denoising with each shipped checkpoint as the active model, and records
every result those pages ask `ui.precomputed.stored` for: the judge and midpoints of AE vs VAE,
the PCA curve and each model's reconstruction error, the PSNR-against-noise curves, the Home
cards. Entries are keyed by the checkpoints' content, so a stale entry is never used; the file
is rewritten whole, atomically.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LATENT_LAB_UMAP_WARMUP", "0")

from streamlit.testing.v1 import AppTest  # noqa: E402

from ae_core.checkpoint import list_checkpoints  # noqa: E402
from ui import precomputed, state  # noqa: E402

PAGES = ("app_pages/home.py", "app_pages/ae_vs_vae.py", "app_pages/bottleneck.py",
         "app_pages/denoise.py")


def main() -> None:
    found = precomputed.record()
    precomputed.STORE_FILE.unlink(missing_ok=True)  # measure everything, keep nothing stale
    for path in list_checkpoints(state.CHECKPOINT_DIR):
        for page in PAGES:
            started = time.perf_counter()
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
            at.session_state[state.ACTIVE_MODEL] = f"shipped: {path.stem}"
            at.session_state["sliders_in_browser"] = False
            at.run()
            at.switch_page(page).run()
            if at.exception:
                raise SystemExit(f"{page} with {path.stem}: {at.exception[0].message}")
            print(f"{path.stem:>20} {page:<26} {time.perf_counter() - started:6.1f} s, "
                  f"{len(found)} entries", flush=True)
    precomputed.write(found)
    print(f"wrote {len(found)} entries to {precomputed.STORE_FILE}")


if __name__ == "__main__":
    main()
