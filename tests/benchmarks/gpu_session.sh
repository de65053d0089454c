#!/usr/bin/env bash
# What we run on a lent GPU machine, in stages that each fit one call. Logs land in $OUT (or ./gpu-out).
#   tests:  pytest -m gpu (cheat corpus on GPU 0, the rest on GPU 1 when there are two), then the two-lane
#           test; meanwhile the batch fixtures are built into the batch cache (CPU only)
#   bench:  timing agreement (ours vs do_bench vs ncu, and a repeat) beside the evaluation turnaround (on
#           the other GPU when there are two), then lane agreement
#   batch:  batch throughput on one GPU, then the same on two, both on the warm batch cache; with
#           BATCH_SPARES_1=N / BATCH_SPARES_2=N, the same runs again with N spare workers; with
#           BATCH_BIG="0 0,1", a larger run (BATCH_BIG_PROBLEMS x BATCH_BIG_SAMPLES, default 10 x 3) on each
#           lane set, after the others
#   ray:    Ray's GPU row (needs `scripts/device-ray-wheels.sh stash` in the call before, on the same warm
#           machine): install Ray, ray_throughput --platform cuda, then tests/test_ray_gpu.py
set -u
stage=${1:?usage: gpu_session.sh tests|bench|batch|ray}
out=${OUT:-gpu-out}
mkdir -p "$out"
export HIPGEN_TEST_CACHE=${HIPGEN_TEST_CACHE:-/tmp/hgc}
batch_cache=/tmp/hgc-batch
problems=${BATCH_PROBLEMS:-8}
samples=${BATCH_SAMPLES:-2}
prewarm_problems=${BATCH_BIG_PROBLEMS:-10}  # enough for every batch run below
gpus=$(python3 -c "import torch; print(torch.cuda.device_count())")
pytest_gpu=(python3 -m pytest -o addopts="" -m gpu -q -s -p no:cacheprovider)
summary() { for f in "$@"; do echo "== $f"; grep -E "$pattern" "$f" | tail -40; done; }
case "$stage" in
  tests)
    python3 -m tests.benchmarks.batch_throughput --prewarm-only --cache "$batch_cache" --problems "$prewarm_problems" \
      > "$out/prewarm.log" 2>&1 &
    if [ "$gpus" -ge 2 ]; then
      CUDA_VISIBLE_DEVICES=0 "${pytest_gpu[@]}" tests/test_cheats_gpu.py > "$out/cheats_gpu.log" 2>&1 &
      CUDA_VISIBLE_DEVICES=1 "${pytest_gpu[@]}" tests/test_gpu.py tests/test_cuda_compare_gpu.py -k "not two_gpus" \
        > "$out/test_gpu.log" 2>&1
      wait
      "${pytest_gpu[@]}" tests/test_gpu.py -k two_gpus > "$out/two_lanes.log" 2>&1
    else
      "${pytest_gpu[@]}" tests/test_cheats_gpu.py tests/test_gpu.py tests/test_cuda_compare_gpu.py > "$out/test_gpu.log" 2>&1
      wait
    fi
    pattern="FIGURE|passed|failed|error|prewarm"
    summary "$out"/*.log
    ;;
  bench)
    other=0; [ "$gpus" -ge 2 ] && other=1
    CUDA_VISIBLE_DEVICES=$other python3 -m tests.benchmarks.eval_turnaround /tmp/hgc-turnaround \
      --also tests/data/gpu/level1/19_Big_ReLU.py > "$out/eval_turnaround.log" 2>&1 &
    CUDA_VISIBLE_DEVICES=0 python3 -m tests.benchmarks.timing_agreement "$HIPGEN_TEST_CACHE" > "$out/timing_agreement.log" 2>&1
    wait
    if [ "$gpus" -ge 2 ]; then
      python3 -m tests.benchmarks.lane_agreement --gpus 0,1 --cache "$HIPGEN_TEST_CACHE" > "$out/lane_agreement.log" 2>&1
    fi
    tail -7 "$out/timing_agreement.log"; tail -22 "$out/eval_turnaround.log"; tail -6 "$out/lane_agreement.log" 2>/dev/null
    ;;
  batch)
    # The prewarm is quick when the tests stage already ran on this machine, and makes a bare one warm.
    python3 -m tests.benchmarks.batch_throughput --prewarm-only --cache "$batch_cache" \
      --problems "$prewarm_problems" > /tmp/prewarm-batch.log 2>&1
    tail -3 /tmp/prewarm-batch.log
    run_batch() {  # lanes problems samples name [spares]
      python3 -m tests.benchmarks.batch_throughput --gpus "$1" --cache "$batch_cache" --problems "$2" \
        --samples "$3" --timeout "${BATCH_TIMEOUT:-280}" --out "/tmp/$4" ${5:+--spares "$5"} > "$out/$4.log" 2>&1
      tail -22 "$out/$4.log"
      cp "/tmp/$4/lanes.jsonl" "$out/$4-lanes.jsonl" 2>/dev/null
    }
    if [ "${BATCH_SMALL:-1}" = 1 ]; then  # BATCH_SMALL=0 runs only the larger run
      run_batch 0 "$problems" "$samples" batch-0
      if [ "$gpus" -ge 2 ]; then run_batch 0,1 "$problems" "$samples" batch-01; fi
    fi
    # BATCH_SPARES_1=N / BATCH_SPARES_2=N repeat the 8 x 2 runs with N spares kept waiting (HIPGEN_SPARES).
    if [ -n "${BATCH_SPARES_1:-}" ]; then run_batch 0 "$problems" "$samples" "batch-0-s$BATCH_SPARES_1" "$BATCH_SPARES_1"; fi
    if [ -n "${BATCH_SPARES_2:-}" ] && [ "$gpus" -ge 2 ]; then
      run_batch 0,1 "$problems" "$samples" "batch-01-s$BATCH_SPARES_2" "$BATCH_SPARES_2"
    fi
    # BATCH_BIG="LANES [LANES...]" adds the larger run (default 10 x 3) on each of those lane sets.
    for big in ${BATCH_BIG:-}; do
      run_batch "$big" "${BATCH_BIG_PROBLEMS:-10}" "${BATCH_BIG_SAMPLES:-3}" "batch-big-$(echo "$big" | tr -d ,)"
    done
    ;;
  ray)
    bash scripts/device-ray-wheels.sh install > "$out/ray_install.log" 2>&1 || { tail -5 "$out/ray_install.log"; exit 1; }
    python3 -m tests.benchmarks.ray_throughput --platform cuda --cache "$HIPGEN_TEST_CACHE" --repeats 3 \
      > "$out/ray_throughput.log" 2>&1
    tail -12 "$out/ray_throughput.log"
    "${pytest_gpu[@]}" tests/test_ray_gpu.py > "$out/ray_gpu.log" 2>&1
    pattern="FIGURE|passed|failed|error"
    summary "$out/ray_gpu.log"
    ;;
  *) echo "usage: gpu_session.sh tests|bench|batch|ray" >&2; exit 2 ;;
esac
