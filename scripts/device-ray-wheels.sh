#!/usr/bin/env bash
# Ray for the lent GPU machine, which reaches no package index and takes at most 64 MiB per call: the Ray
# wheel alone is about 76 MiB, so it travels in two calls.
#
#   here:    scripts/device-ray-wheels.sh pack [PYTHON_VERSION]   (default 3.12, the GPU machine's python3)
#            writes .device-ray/part1/ (a third of the wheel, ~25 MiB) and .device-ray/part2/ (the other two
#            thirds and Ray's dependencies, ~54 MiB); .device-ray/ is in .gitignore
#   call 1:  carry [".device-wheels", ".device-ray/part1"], command starting
#              bash scripts/device-ray-wheels.sh stash && pip install -q --no-index --find-links .device-wheels -e . && ...
#   call 2:  (while the machine is still warm: it keeps /tmp between calls only then) carry [".device-ray/part2"],
#              bash scripts/device-ray-wheels.sh install && python3 -m pytest -o addopts="" -m gpu -q -s tests/test_ray_gpu.py
set -euo pipefail
cd "$(dirname "$0")/.."
stash=/tmp/hipgen-ray-parts
case "${1:?usage: device-ray-wheels.sh pack [PYTHON_VERSION] | stash | install}" in
  pack)
    py=${2:-3.12}
    rm -rf .device-ray && mkdir -p .device-ray/part1 .device-ray/part2/deps
    python3 -m pip download -q "ray>=2.60" --python-version "$py" --only-binary=:all: -d .device-ray/part2/deps
    wheel=$(cd .device-ray/part2/deps && ls ray-*.whl)
    (cd .device-ray/part2/deps && sha256sum "$wheel" > ../WHEEL && split -n 3 -d "$wheel" ray.whl.part- && rm "$wheel")
    mv .device-ray/part2/deps/ray.whl.part-00 .device-ray/part1/
    mv .device-ray/part2/deps/ray.whl.part-0[12] .device-ray/part2/
    du -sh .device-ray/part1 .device-ray/part2
    ;;
  stash)
    mkdir -p "$stash" && cp .device-ray/part1/ray.whl.part-00 "$stash/"
    ;;
  install)
    [ -f "$stash/ray.whl.part-00" ] || { echo "part 1 of the Ray wheel is not in $stash: run call 1 (stash) first, on this same machine" >&2; exit 1; }
    read -r sum wheel < .device-ray/part2/WHEEL
    cat "$stash/ray.whl.part-00" .device-ray/part2/ray.whl.part-01 .device-ray/part2/ray.whl.part-02 > "$stash/$wheel"
    echo "$sum  $stash/$wheel" | sha256sum -c --quiet
    python3 -m pip install -q --no-index --find-links .device-ray/part2/deps "$stash/$wheel"
    python3 -c "import ray; print('ray', ray.__version__)"
    ;;
  *) echo "usage: device-ray-wheels.sh pack [PYTHON_VERSION] | stash | install" >&2; exit 2 ;;
esac
