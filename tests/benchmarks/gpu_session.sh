#!/usr/bin/env bash
# What we run on a lent GPU machine, in stages that each fit one call. Logs land in $OUT (or ./gpu-out).
#   tests:  pytest -m gpu (cheat corpus on GPU 0, the rest on GPU 1 when there are two), then the two-lane test
#   bench:  timing agreement (ours vs do_bench vs ncu, and a repeat), lane agreement, evaluation turnaround
#   batch1: batch throughput on one GPU;  batch2: the same on two GPUs
set -u
stage=${1:?usage: gpu_session.sh tests|bench|batch1|batch2}
out=${OUT:-gpu-out}
mkdir -p "$out"
export HIPGEN_TEST_CACHE=${HIPGEN_TEST_CACHE:-/tmp/hgc}
gpus=$(python3 -c "import torch; print(torch.cuda.device_count())")
pytest_gpu=(python3 -m pytest -o addopts="" -m gpu -q -s -p no:cacheprovider)
case "$stage" in
  tests)
    if [ "$gpus" -ge 2 ]; then
      CUDA_VISIBLE_DEVICES=0 "${pytest_gpu[@]}" tests/test_cheats_gpu.py > "$out/cheats_gpu.log" 2>&1 &
      CUDA_VISIBLE_DEVICES=1 "${pytest_gpu[@]}" tests/test_gpu.py -k "not two_gpus" > "$out/test_gpu.log" 2>&1
      wait
      "${pytest_gpu[@]}" tests/test_gpu.py -k two_gpus > "$out/two_lanes.log" 2>&1
    else
      "${pytest_gpu[@]}" tests/test_cheats_gpu.py tests/test_gpu.py > "$out/test_gpu.log" 2>&1
    fi
    for f in "$out"/*.log; do echo "== $f"; grep -E "FIGURE|passed|failed|error" "$f" | tail -40; done
    ;;
  bench)
    python3 -m tests.benchmarks.timing_agreement "$HIPGEN_TEST_CACHE" > "$out/timing_agreement.log" 2>&1
    tail -6 "$out/timing_agreement.log"
    if [ "$gpus" -ge 2 ]; then
      python3 -m tests.benchmarks.lane_agreement --gpus 0,1 --cache "$HIPGEN_TEST_CACHE" > "$out/lane_agreement.log" 2>&1
      tail -5 "$out/lane_agreement.log"
    fi
    python3 -m tests.benchmarks.eval_turnaround /tmp/hgc-turnaround > "$out/eval_turnaround.log" 2>&1
    tail -8 "$out/eval_turnaround.log"
    ;;
  batch1|batch2)
    lanes=0; [ "$stage" = batch2 ] && lanes=0,1
    python3 -m tests.benchmarks.batch_throughput --gpus "$lanes" --cache "$HIPGEN_TEST_CACHE" \
      --out "/tmp/batch-$stage" > "$out/$stage.log" 2>&1
    tail -25 "$out/$stage.log"
    cp -r "/tmp/batch-$stage" "$out/$stage-run" 2>/dev/null
    ;;
esac
