#!/usr/bin/env bash
# GPU check, for a machine with an NVIDIA GPU and a CUDA libtorch (here: the one inside a
# Python torch install). In one run of a few minutes it
#   1. builds aimrun and the NCCL communicator test against that libtorch (OpenCV and MPI
#      are optional: a box without them gets a build without pictures and with one rank);
#   2. runs the NCCL communicator test (one rank: collectives on CUDA tensors, gradient
#      buckets on the GPU);
#   3. trains vanilla and AIM[2,25%] on ResNet-50 with synthetic 224x224 images for 200
#      steps each, in fp32 and in bf16 + channels-last, and prints images/s.
#
#   scripts/gpu-check.sh --prepare   # on a machine with the Debian packages: copies the
#                                    # header-only CLI11 and GoogleTest into .deps/ (to carry)
#   scripts/gpu-check.sh             # on the GPU machine
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--prepare" ]]; then
  rm -rf .deps && mkdir -p .deps/include .deps/lib
  cp -r /usr/include/CLI .deps/include/
  cp -r /usr/include/gtest .deps/include/
  cp /usr/lib/x86_64-linux-gnu/libgtest.a /usr/lib/x86_64-linux-gnu/libgtest_main.a .deps/lib/
  echo "prepared .deps/ ($(du -sh .deps | cut -f1))"
  exit 0
fi

out="${OUT:-build-gpu/report}"
mkdir -p "$out"
python=${PYTHON:-python3}
torch_prefix=$($python -c 'import torch; print(torch.utils.cmake_prefix_path)')
nccl_lib=$($python -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' 2>/dev/null || true)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
$python -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)' | tee -a "$out/gpu.txt"

echo "== build"
start=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$PWD/.deps" -DGTEST_ROOT="$PWD/.deps" \
  -DAIM_WITH_NCCL=ON -DAIM_BUILD_BENCH=OFF ${nccl_lib:+-DNCCL_HOME_LIB="$nccl_lib"} \
  > "$out/cmake.log" 2>&1 || { tail -40 "$out/cmake.log"; exit 1; }
grep -E "aimrun:|NCCL communicator" "$out/cmake.log" || true
cmake --build build-gpu -j "$(nproc)" --target aimrun test_nccl > "$out/build.log" 2>&1 || { grep -E "error|Error" "$out/build.log" | head -40; exit 1; }
echo "built in $(( $(date +%s) - start )) s"

echo "== NCCL communicator test (1 rank)"
build-gpu/tests/test_nccl 2>&1 | tee "$out/test_nccl.log" | grep -E "^\[ +(OK|FAILED|PASSED) "

echo "== training throughput: ResNet-50, synthetic 224x224, batch 64, 200 steps"
rm -rf build-gpu/outputs
for method in vanilla aim; do
  for mode in fp32 bf16; do
    extra=()
    [[ $mode == bf16 ]] && extra=(train.precision=bf16 train.channels_last=true)
    build-gpu/runner/aimrun train experiments/gpu-check.yaml method.name=$method "${extra[@]}" \
      --run-dir "build-gpu/outputs/$method-$mode" > "$out/train-$method-$mode.log" 2>&1 \
      || { tail -20 "$out/train-$method-$mode.log"; exit 1; }
  done
done
$python - "$out" <<'PY' | tee "$out/throughput.txt"
import h5py, sys
print(f"{'method':8} {'precision':22} {'images/s':>9} {'forward s':>10} {'backward s':>11} {'optimizer s':>12} {'data s':>7}")
rows = {}
for method in ("vanilla", "aim"):
    for mode in ("fp32", "bf16"):
        with h5py.File(f"build-gpu/outputs/{method}-{mode}/result.h5") as f:
            c = f["curves"]
            ips = c["images_per_s"][-1]
            rows[(method, mode)] = ips
            label = "fp32" if mode == "fp32" else "bf16 + channels-last"
            print(f"{method:8} {label:22} {ips:9.0f} {c['forward_seconds'][-1]:10.2f} {c['backward_seconds'][-1]:11.2f} "
                  f"{c['optimizer_seconds'][-1]:12.2f} {c['data_seconds'][-1]:7.2f}")
for mode in ("fp32", "bf16"):
    print(f"AIM / vanilla time per image ({mode}): {rows[('vanilla', mode)] / rows[('aim', mode)]:.2f}x")
PY
