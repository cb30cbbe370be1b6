#!/usr/bin/env bash
# The GPU path, proven on a CUDA machine in one go (benchmarks/README.md, "On a GPU"):
#   1. the unit tests of the library on CUDA (TrainConfig's device "auto" picks the card, and
#      the device-parametrised tests add their CUDA cases: bf16 autocast, inductor compile);
#   2. `fit` against the tutorials' DataLoader loop on the same card: float32, then bf16
#      autocast, then torch.compile;
#   3. when `nvidia-smi -L` lists two cards or more, the same training on 1 and on 2 GPUs
#      with torchrun (nccl), timed, and the checkpoint's world_size and backend read back.
#
#   benchmarks/gpu.sh             # on the CUDA machine (about 5-10 minutes)
#   benchmarks/gpu.sh --dry-run   # print every command, run none
#   benchmarks/gpu.sh --cpu       # every step on the CPU at toy sizes: the script's own check
#
# PYTHON and TORCHRUN name the interpreter and launcher (default: the project's .venv).
# MNIST_DIR, a folder with MNIST's idx files, makes steps 2-3 train on all 54,000 training
# digits instead of the 4,500 embedded ones.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
TORCHRUN=${TORCHRUN:-.venv/bin/torchrun}
MODE=gpu
case "${1:-}" in
  --dry-run) MODE=dry ;;
  --cpu) MODE=cpu ;;
  "") ;;
  *) echo "usage: $0 [--dry-run | --cpu]" >&2; exit 2 ;;
esac

run() {  # echo a command, then run it unless this is a dry run
  echo "+ $*"
  if [[ $MODE != dry ]]; then "$@"; fi
}

seconds() {  # a command, then its wall-clock time
  local started
  started=$(date +%s%N)
  run "$@"
  if [[ $MODE != dry ]]; then echo "  wall: $(( ($(date +%s%N) - started) / 1000000 )) ms"; fi
}

if [[ $MODE == cpu ]]; then
  DEVICE=cpu
  TESTS=(tests/test_train.py -k "bfloat16 or compile or honour")
  BENCH=(--quick --threads 1)
  TRAIN=(--epochs 1 --hidden-sizes 32 --latent-dim 4 --exclude-classes 2 3 4 5 6 7 8 9)
  CARDS=2  # two gloo processes stand in for two cards
else
  DEVICE=cuda
  TESTS=(tests/test_train.py tests/test_models.py tests/test_distributed.py
         tests/test_checkpoint.py tests/test_cli.py tests/test_latent.py tests/test_sampling.py)
  BENCH=(--epochs 20)
  TRAIN=(--family conv_ae --epochs 10)
  CARDS=2  # a dry run shows step 3 too
  if [[ $MODE == gpu ]]; then
    if ! command -v nvidia-smi >/dev/null; then
      echo "no nvidia-smi here: not a CUDA machine (--cpu checks the script itself)" >&2
      exit 2
    fi
    CARDS=$(nvidia-smi -L | grep -c '^GPU' || true)
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  fi
fi
if [[ -n "${MNIST_DIR:-}" && $MODE != cpu ]]; then
  BENCH+=(--dataset "$MNIST_DIR")
  TRAIN+=(--dataset "$MNIST_DIR")
fi
run "$PYTHON" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda,
  'available:', torch.cuda.is_available(),
  torch.cuda.get_device_name() if torch.cuda.is_available() else 'no card')"

echo "== 1. unit tests on $DEVICE"
run "$PYTHON" -m pytest -q -p no:cacheprovider "${TESTS[@]}"

echo "== 2. fit against the tutorials' DataLoader loop on $DEVICE"
for options in "--precision float32" "--precision bfloat16" "--compile-mode default"; do
  if [[ $MODE == cpu && $options == --compile* ]]; then
    echo "  (compile skipped on the CPU: inductor compiles C++ for minutes)"
    continue
  fi
  # shellcheck disable=SC2086  # $options is two words on purpose
  run "$PYTHON" benchmarks/bench.py --device "$DEVICE" --training-only "${BENCH[@]}" $options
done

echo "== 3. data-parallel training with torchrun"
if (( CARDS < 2 )); then
  echo "  skipped: $CARDS card(s) here, two are needed"
  exit 0
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
seconds "$PYTHON" -m ae_core train --device "$DEVICE" "${TRAIN[@]}" --out "$OUT/one.safetensors"
seconds "$TORCHRUN" --standalone --nproc-per-node=2 -m ae_core train --device "$DEVICE" \
  "${TRAIN[@]}" --out "$OUT/two.safetensors"
run "$PYTHON" -c "
import sys
from ae_core.checkpoint import load_checkpoint
for name in ('one', 'two'):
    c = load_checkpoint(sys.argv[1] + f'/{name}.safetensors')
    print(name, {k: c.info.get(k) for k in ('world_size', 'backend', 'device')}, c.metrics)
" "$OUT"
