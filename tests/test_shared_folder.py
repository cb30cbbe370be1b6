"""Several server processes share saved_models/ (scripts/serve): a process listing and loading
the folder while another one saves into it only ever sees whole checkpoints."""

from __future__ import annotations

import subprocess
import sys

from ae_core.checkpoint import list_checkpoints, load_checkpoint
from ui import state

WRITER = """
import sys
from ae_core.config import ModelConfig
from ae_core.checkpoint import save_checkpoint
from ae_core.models import build_model
model = build_model(ModelConfig(family="ae", latent_dim=8, hidden_sizes=(64,)))
for index in range(40):
    save_checkpoint(f"{sys.argv[1]}/model_{index % 5}.safetensors", model)
print("done", flush=True)
"""


def test_listing_and_loading_while_another_process_saves(tmp_path):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)],
                              cwd=state.PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    loaded = 0
    while writer.poll() is None or loaded == 0:
        for path in list_checkpoints(tmp_path):
            try:
                load_checkpoint(path)  # never a half-written file: whole, or not listed
            except FileNotFoundError:  # replaced between the listing and the read: fine
                continue
            loaded += 1
    assert writer.wait(timeout=120) == 0 and writer.stdout.read().strip() == "done"
    assert loaded > 0
    assert sorted(path.name for path in list_checkpoints(tmp_path)) == [
        f"model_{index}.safetensors" for index in range(5)]
