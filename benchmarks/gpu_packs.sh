#!/usr/bin/env bash
# Packed training on one GPU, in about 8 minutes: the raw pack step (FrameworkPack, in-process) for
# K = 1, 4, 8, 16, 32, eager and compiled as CUDA graphs, then the real sweep path
# (hydra/launcher=packed against joblib with K processes) for the β-VAE at K = 1, 8 and 32.
# Prints Markdown tables. Run in the project's environment: bash benchmarks/gpu_packs.sh
set -euo pipefail
cd "$(dirname "$0")"
python packed_training.py --device cuda --sizes 1 4 8 16 32 --batch-size 256 --repeats 5 \
    --compile-mode reduce-overhead
python packed_sweep.py --device cuda --frameworks betavae --sizes 1 8 32 --batch-size 256 \
    --short 200 --long 1200 --launchers joblib packed
