#!/usr/bin/env bash
# CUDA check in one script (< 5 min on one GPU): the tests that need CUDA, then a short CUDA
# benchmark of the harmonics (fwd, fwd+bwd, force step against e3nn and sphericart), the polar
# bases and the edge embedding. Run from the repository root on a machine with a GPU:
#   bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name())"

# 1. every test that runs on CUDA (the device-parametrised tests skip without one)
python3 -m pytest -q -p no:cacheprovider -m "slow or not slow" -k "cuda or device or gpu" tests

# 2. short CUDA benchmarks (alternating rounds, ratios against the peers in the same run)
python3 benchmarks/bench_harmonics.py --device cuda --quick --lmax 2 4 8
python3 benchmarks/bench_polar.py --quick --device cuda
python3 benchmarks/bench_tensor_field.py --quick --device cuda
