"""Write ae_core/known_costs.json: the compute counts of the configs every server loads (the
shipped checkpoints, each family's default, the shipped code prior), so that loading them
skips the count (a model built and run once on the CPU; a code prior run on the meta device,
whose first use imports torch's compiler, 3-6 s: ae_core/compute.py).

    .venv/bin/python scripts/known_costs.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ae_core.checkpoint import list_checkpoints, load_checkpoint  # noqa: E402
from ae_core.compute import KNOWN_COSTS, count_model_cost, count_prior_cost  # noqa: E402
from ae_core.config import ModelConfig  # noqa: E402
from ae_core.registry import families  # noqa: E402


def known_configs() -> list:
    """Every config the table should hold: model configs and code-prior configs."""
    configs = [ModelConfig(family=family) for family in families()]
    for path in list_checkpoints(ROOT / "checkpoints"):
        checkpoint = load_checkpoint(path)
        configs.append(checkpoint.model_config)
        if checkpoint.model.has_codebook and checkpoint.model.code_prior is not None:
            configs.append(checkpoint.model.code_prior.config)
    return configs


def main() -> None:
    table = {}
    for config in known_configs():
        count = count_prior_cost if type(config).__name__ == "CodePriorConfig" else \
            count_model_cost
        cost = count(config)
        table[repr(config)] = [cost.macs, cost.activation_bytes]
    KNOWN_COSTS.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")
    print(f"{len(table)} configs written to {KNOWN_COSTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
