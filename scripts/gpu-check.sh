#!/usr/bin/env bash
# GPU check, for a machine with an NVIDIA GPU and a CUDA libtorch (here: the one inside a
# Python torch install). In one run of a few minutes it
#   1. builds aimrun and the NCCL communicator test against that libtorch (OpenCV and MPI
#      are optional: a box without them gets a build without pictures and with one rank);
#   2. runs the NCCL communicator test (one rank: collectives on CUDA tensors, gradient
#      buckets on the GPU);
#   3. counts the model's FLOPs, measures the GPU's peak matrix-multiply throughput, trains
#      vanilla and AIM[2,25%] on ResNet-50 with synthetic 224x224 images for 200 steps each
#      (the second 100 timed), in fp32 and in bf16 + channels-last, runs the same training
#      as a plain PyTorch loop (bench/reference_train.py), and prints images/s of both and
#      the utilisation of the GPU.
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
  cp -r /usr/include/fmt .deps/include/   # fmt 9, what Debian's and Ubuntu 24.04's spdlog use
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
  -DAIM_INCLUDE_FIRST="$PWD/.deps/include" \
  > "$out/cmake.log" 2>&1 || { tail -40 "$out/cmake.log"; exit 1; }
grep -E "aimrun:|NCCL communicator" "$out/cmake.log" || true
cmake --build build-gpu -j "$(nproc)" --target aimrun test_nccl > "$out/build.log" 2>&1 || { grep -E "error|Error" "$out/build.log" | head -40; exit 1; }
echo "built in $(( $(date +%s) - start )) s"

echo "== NCCL communicator test (1 rank)"
build-gpu/tests/test_nccl 2>&1 | tee "$out/test_nccl.log" | grep -E "^\[ +(OK|FAILED|PASSED) "

echo "== model cost (counted)"
for method in vanilla aim; do
  build-gpu/runner/aimrun model experiments/gpu-check.yaml method.name=$method device=cpu | tee "$out/model-$method.txt" | head -4
done

echo "== peak matrix-multiply throughput (the hardware reference)"
$python - <<'PY' | tee "$out/peak.txt"
import time, torch
def peak(dtype, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    a = torch.randn(8192, 8192, device="cuda", dtype=dtype); b = torch.randn_like(a)
    for _ in range(3): a @ b
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(10): a @ b
    torch.cuda.synchronize()
    return 10 * 2 * 8192**3 / (time.perf_counter() - t) / 1e12
print(f"peak_bf16_tflops {peak(torch.bfloat16, False):.0f}")
print(f"peak_tf32_tflops {peak(torch.float32, True):.0f}")
PY

echo "== training throughput: ResNet-50, synthetic 224x224, batch 64, second epoch of 100 steps"
rm -rf build-gpu/outputs
for method in vanilla aim; do
  for mode in fp32 bf16; do
    extra=()
    [[ $mode == bf16 ]] && extra=(train.precision=bf16 train.channels_last=true)
    build-gpu/runner/aimrun train experiments/gpu-check.yaml method.name=$method "${extra[@]}" \
      --run-dir "build-gpu/outputs/$method-$mode" > "$out/train-$method-$mode.log" 2>&1 \
      || { tail -20 "$out/train-$method-$mode.log"; exit 1; }
    pyextra=()
    [[ $mode == bf16 ]] && pyextra=(--precision bf16 --channels-last)
    $python bench/reference_train.py --model resnet50 --method $method --size 224 --classes 1000 --batch 64 \
      --steps 100 --warmup 100 --device cuda "${pyextra[@]}" > "$out/python-$method-$mode.txt" 2>&1 \
      || { tail -5 "$out/python-$method-$mode.txt"; exit 1; }
  done
done
$python - "$out" <<'PY' | tee "$out/throughput.txt"
import h5py, re, sys
out = sys.argv[1]
peak = dict(l.split() for l in open(f"{out}/peak.txt"))
flops = {}
for method in ("vanilla", "aim"):
    text = open(f"{out}/model-{method}.txt").read()
    flops[method] = float(re.search(r"training \(3x\)\s+([\d.]+)", text).group(1)) * 1e9
print(f"{'method':8} {'precision':22} {'aimrun img/s':>12} {'python img/s':>12} {'aimrun/python':>13} {'utilisation':>11}")
rows = {}
for method in ("vanilla", "aim"):
    for mode in ("fp32", "bf16"):
        with h5py.File(f"build-gpu/outputs/{method}-{mode}/result.h5") as f:
            ips = f["curves/images_per_s"][-1]
        py = float(re.search(r"([\d.]+) images/s", open(f"{out}/python-{method}-{mode}.txt").read()).group(1))
        ref = float(peak["peak_bf16_tflops" if mode == "bf16" else "peak_tf32_tflops"]) * 1e12
        rows[(method, mode)] = ips
        label = "fp32 (TF32 convolutions)" if mode == "fp32" else "bf16 + channels-last"
        print(f"{method:8} {label:24} {ips:10.0f} {py:12.0f} {ips / py:13.2f} {100 * ips * flops[method] / ref:10.1f}%")
for mode in ("fp32", "bf16"):
    print(f"AIM / vanilla time per image ({mode}): {rows[('vanilla', mode)] / rows[('aim', mode)]:.2f}x")
print("utilisation = images/s x counted training FLOPs per image / measured peak matmul FLOP/s "
      f"(bf16 {peak['peak_bf16_tflops']} TFLOP/s, TF32 {peak['peak_tf32_tflops']} TFLOP/s)")
PY
