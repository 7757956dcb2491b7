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
#      the utilisation of the GPU;
#   4. gradient accumulation on the GPU: 1 GPU x 4 micro-batches of 8 against 1 GPU x 32
#      (and, with MPI and 2+ GPUs, 2 GPUs x 2 x 8 through NCCL): the same losses;
#   5. with MPI and 2+ GPUs: ResNet-50 bf16 images/s on 1, 2 and all GPUs (weak scaling,
#      batch 64 per GPU) and the scaling efficiency;
# and ends with one summary table (summary.txt). Meant to take at most 8 minutes (the build
# included; steps 4-5 are short runs, 50-step epochs, not yet timed on a GPU); steps 4 and 5
# report "not run" where the machine lacks what they need.
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

start=$(date +%s)
echo "== build"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$PWD/.deps" -DGTEST_ROOT="$PWD/.deps" \
  -DAIM_WITH_NCCL=ON -DAIM_BUILD_BENCH=OFF ${nccl_lib:+-DNCCL_HOME_LIB="$nccl_lib"} \
  -DAIM_INCLUDE_FIRST="$PWD/.deps/include" \
  > "$out/cmake.log" 2>&1 || { tail -40 "$out/cmake.log"; exit 1; }
grep -E "aimrun:|NCCL communicator" "$out/cmake.log" || true
cmake --build build-gpu -j "$(nproc)" --target aimrun test_nccl > "$out/build.log" 2>&1 || { grep -E "error|Error" "$out/build.log" | head -40; exit 1; }
echo "built in $(( $(date +%s) - start )) s"

echo "== NCCL communicator test (1 rank)"
build-gpu/tests/test_nccl 2>&1 | tee "$out/test_nccl.log" | grep -E "^\[ +(OK|FAILED|PASSED) " || true

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

ngpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l)
mpi=()
if command -v mpirun > /dev/null && grep -qE "aimrun:.*MPI (TRUE|ON|1)" "$out/cmake.log"; then
  mpi=(mpirun --oversubscribe --bind-to none)
  [[ $(id -u) == 0 ]] && mpi+=(--allow-run-as-root)
fi
echo "== gradient accumulation on the GPU ($ngpu GPUs, MPI: $([[ ${#mpi[@]} -gt 0 ]] && echo yes || echo no))"
acc_cfg="$out/accumulate.yaml"
cat > "$acc_cfg" <<'YAML'
name: gpu-accumulate
output_dir: build-gpu/outputs
device: cuda
dataset: {name: synthetic, image_size: 64, num_classes: 10, train_size: 192, val_size: 64, test_size: 64, pool: 64, hflip: false, workers: 2}
model: {backbone: small_cnn, norm: group, width: 16}
train: {epochs: 2, lr: 0.05, warmup_epochs: 0.5, eval_every: 0, log_every: 0, cudnn_benchmark: false}
eval: {batch_size: 64, attributions: [gradcam], keep_maps: 0, pictures: 0}
YAML
acc_runs=("one 1 train.batch_size=32" "acc 1 train.batch_size=8 train.accumulate_steps=4")
(( ngpu >= 2 )) && [[ ${#mpi[@]} -gt 0 ]] && acc_runs+=("two 2 train.batch_size=8 train.accumulate_steps=2")
for run in "${acc_runs[@]}"; do
  read -r name ranks overrides <<< "$run"
  launch=()
  (( ranks > 1 )) && launch=("${mpi[@]}" -np "$ranks")
  # shellcheck disable=SC2086
  "${launch[@]}" build-gpu/runner/aimrun train "$acc_cfg" $overrides --run-dir "build-gpu/outputs/acc-$name" \
    > "$out/accumulate-$name.log" 2>&1 || { tail -20 "$out/accumulate-$name.log"; exit 1; }
done

scaling=()
if (( ngpu >= 2 )) && [[ ${#mpi[@]} -gt 0 ]]; then
  echo "== multi-GPU scaling: ResNet-50 bf16 + channels-last, batch 64 per GPU, 50 steps per epoch"
  scaling=(1 2)
  (( ngpu > 2 )) && scaling+=("$ngpu")
  for k in "${scaling[@]}"; do
    "${mpi[@]}" -np "$k" build-gpu/runner/aimrun train experiments/gpu-check.yaml train.precision=bf16 \
      train.channels_last=true dataset.train_size=$((3200 * k)) --run-dir "build-gpu/outputs/scale-$k" \
      > "$out/scale-$k.log" 2>&1 || { tail -20 "$out/scale-$k.log"; exit 1; }
  done
fi

echo "== summary ($(( $(date +%s) - start )) s in all)"
$python - "$out" "${scaling[*]}" <<'PY' | tee "$out/summary.txt"
import h5py, os, re, sys
out, scaling = sys.argv[1], sys.argv[2].split()
rows = []
log = open(f"{out}/test_nccl.log").read()
passed, failed = len(re.findall(r"^\[ +OK \]", log, re.M)), len(re.findall(r"^\[ +FAILED +\] \S+\.", log, re.M))
rows.append(("NCCL communicator test (1 rank)", f"{passed} passed, {failed} failed", "PASS" if passed and not failed else "FAIL"))
def curve(run, name):
    with h5py.File(f"build-gpu/outputs/{run}/result.h5") as f:
        return [float(v) for v in f[f"curves/{name}"][()]]
ref = curve("acc-one", "train_loss")
for name, label in (("acc", "accumulation, 1 GPU: 4 x 8 vs 1 x 32"), ("two", "accumulation, 2 GPUs (NCCL): 2 x 2 x 8 vs 1 x 32")):
    if not os.path.exists(f"build-gpu/outputs/acc-{name}/result.h5"):
        rows.append((label, "not run (needs MPI and 2 GPUs)", "-"))
        continue
    diff = max(abs(a - b) for a, b in zip(curve(f"acc-{name}", "train_loss"), ref))
    rows.append((label, f"max |train loss difference| {diff:.2e} (losses {ref[-1]:.4f})", "PASS" if diff < 1e-3 else "FAIL"))
for line in open(f"{out}/throughput.txt"):
    m = re.match(r"(vanilla|aim)\s+(fp32 \(TF32 convolutions\)|bf16 \+ channels-last)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+%)", line)
    if m:
        rows.append((f"ResNet-50 {m.group(1)}, {m.group(2)}, batch 64", f"aimrun {m.group(3)} img/s, python {m.group(4)} "
                     f"({m.group(5)}x), utilisation {m.group(6)}", "-"))
if scaling:
    one = None
    for k in scaling:
        ips = curve(f"scale-{k}", "images_per_s")[-1]
        one = one or ips
        rows.append((f"ResNet-50 bf16 on {k} GPU{'s' if k != '1' else ''} (NCCL)", f"{ips:.0f} img/s, "
                     f"scaling efficiency {100 * ips / (int(k) * one):.0f}%", "-"))
else:
    rows.append(("multi-GPU scaling", "not run (needs MPI and 2 GPUs)", "-"))
w = max(len(r[0]) for r in rows)
print(f"{'check':{w}}  {'result':6}  measurement")
for check, text, result in rows:
    print(f"{check:{w}}  {result:6}  {text}")
PY
