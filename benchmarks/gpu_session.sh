#!/usr/bin/env bash
# Every GPU check of issue 37 in one go (run from the repository root on a machine with a
# CUDA GPU): the cuda-marked tests, exact_resize's kernel per frame on the GPU, and the
# end-to-end figures of bench_extract.py --device cuda (JPEG and PNG keyframes, videos,
# --preprocess cpu and device, against the decode-only floors measured in the same run).
# Output goes to stdout and, when $OUT is set (the device tool's folder), to $OUT/*.log.
# Each step has its own timeout; together at most 9 minutes (one device call: 10).
#
#   bash benchmarks/gpu_session.sh [SHOTS] [WORKERS]     # defaults 8000 and all cores
set -u
SHOTS=${1:-8000}
WORKERS=${2:-$(nproc)}
LOGS=${OUT:-/tmp/fpig-gpu-session}
mkdir -p "$LOGS"
PY=${PYTHON:-python}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$LOGS/gpu.log"
echo "== cuda tests (bit identity of the preprocessed tensors and of the stores)"
timeout 120 "$PY" -m pytest -q -p no:cacheprovider tests/extract/test_extract_cuda.py \
    2>&1 | tail -15 | tee "$LOGS/cuda-tests.log"
echo "== exact_resize on the GPU, per frame (640x360 -> 224), against PIL on one core"
timeout 90 "$PY" benchmarks/bench_exact_resize.py --device cuda --batch 256 --frames 256 \
    --reps 3 2>&1 | tee "$LOGS/bench-exact-resize.log"
echo "== features extract on the GPU: keyframes and videos, --preprocess cpu and device"
timeout 330 "$PY" benchmarks/bench_extract.py --device cuda --reps 1 --gpu-shots "$SHOTS" \
    --videos 16 --seconds 20 --workers "$WORKERS" --workdir /tmp/fpig-bench-extract \
    2>&1 | tee "$LOGS/bench-extract.log"
