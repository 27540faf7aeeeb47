#!/usr/bin/env bash
# What only a GPU can check, as one command on a machine with an NVIDIA GPU (the workplace's lent machine:
# its image has python3 with numpy, ml-dtypes, rich, safetensors, pytest, pytest-xdist, cuda-core, triton
# and torch, so nothing needs fetching). Each part fits the 10-minute limit of one device call:
#
#   bash bench/gpu_check.sh main   # the cuda device's tests, bench/gpu.py, examples/train_gpt.py --device cuda
#   bash bench/gpu_check.sh ops    # every registry op on cuda against numpy (tests/test_interpret_ops.py)
#
# Logs go to $OUT (default ./gpu-out), at most 8 files; the last lines of each part are printed.
set -uo pipefail
part=${1:-main}
out=${OUT:-gpu-out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 TORCHLITE_CACHE_DIR=${TORCHLITE_CACHE_DIR:-/tmp/torchlite-cache}
python3 -m pip install -q --no-deps --no-build-isolation -e . >"$out/install.log" 2>&1 \
    || { tail -20 "$out/install.log"; exit 1; }
{
    date -u +"date: %Y-%m-%d %H:%M UTC"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    python3 -c "import sys, numpy, triton, torchlite as tl; print('python', sys.version.split()[0], 'numpy', numpy.__version__, 'triton', triton.__version__, 'torchlite cuda available', tl.cuda.is_available())"
    python3 -c "import torch; print('torch', torch.__version__)" 2>/dev/null || echo "torch: not installed"
    git log -1 --format="torchlite %h %s" 2>/dev/null || true
} >"$out/device.txt" 2>&1
cat "$out/device.txt"

status=0
run() {         # run NAME LIMIT_S CMD...: its log in $out/NAME.log, its tail printed, its status kept
    local name=$1 limit=$2
    shift 2
    echo "== $name: $*"
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    tail -15 "$out/$name.log"
    echo "== $name: exit $rc"
    [ $rc -eq 0 ] || status=1
}

case $part in
main)
    run cuda_tests 150 python3 -m pytest -q -rs tests/test_cuda_device.py tests/test_matmul_precision.py
    run bench_gpu 200 python3 bench/gpu.py
    run train_gpt 220 python3 examples/train_gpt.py --device cuda
    ;;
ops)
    run ops_on_cuda 560 env TORCHLITE_OPS_DEVICE=cuda python3 -m pytest -q -x -n 16 tests/test_interpret_ops.py \
        -k "matches_cpu"
    ;;
*)
    echo "usage: bash bench/gpu_check.sh main|ops" >&2
    exit 2
    ;;
esac
exit $status
