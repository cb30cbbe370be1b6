#!/usr/bin/env bash
# Create .venv and install Latent Lab into it; a second run with nothing changed takes a second.
# Usage: scripts/setup.sh [runtime|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-runtime}"
python3 -m venv .venv 2>/dev/null || [ -x .venv/bin/python ]
stamp=".venv/.setup-stamp-$extra"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    if [ "$extra" = dev ]; then
        .venv/bin/python -m pip install --quiet -e ".[dev]"
    else
        .venv/bin/python -m pip install --quiet -e .
    fi
    echo "$wanted" > "$stamp"
fi
# The browser decoder's runtime (onnxruntime-web, pinned and hash-checked) under static/ort/.
bash scripts/browser_runtime.sh
