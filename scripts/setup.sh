#!/usr/bin/env bash
# Installs the Debian packages aimrun uses (only those missing, so it is cheap to re-run),
# then configures and builds into build/. Usage: scripts/setup.sh [--tests]
#   --tests   also the packages the test suite needs (torchvision reference, Slurm, munge),
#             and build the tests and benchmarks (without it: aimrun alone)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build git pkg-config    # g++, not build-essential: Ninja needs no make, nor dpkg-dev
  libtorch-dev libopenblas0-pthread       # libtorch; OpenBLAS instead of the reference BLAS (20x faster GEMM)
  libopenmpi-dev openmpi-bin              # MPI communicator, mpirun
  libyaml-cpp-dev libhdf5-dev hdf5-tools libspdlog-dev libcli11-dev zlib1g-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev   # the three modules used, not libopencv-dev (all 40)
  dataset-fashion-mnist                   # the built-in benchmark's garments
)
# Not needed to build or train: the results reader and the plots. Without --tests they are
# installed while aimrun compiles (README, "What it costs where"). python3-munkres fills
# matplotlib's font library's need "python3-scipy | python3-munkres" (apt takes the first
# alternative unless another is in the same request): no scipy, which nothing here imports.
# After the build's packages on a bare Debian 12: 28.7 s with it, 50.2 s without (scipy's 15 MB).
python_packages=(python3 python3-h5py python3-pandas python3-matplotlib python3-yaml python3-munkres)
if [[ "${1:-}" == "--tests" ]]; then
  packages+=(build-essential ccache   # ccache: rebuilds after a branch switch; a first build is faster without it
             googletest libgtest-dev python3-numpy python3-scipy python3-torch python3-torchvision
             slurmctld slurmd slurm-client munge
             chromium chromium-driver)   # the HTML report's browser test (tests/python/test_html_report.py)
  packages+=("${python_packages[@]}")
  python_packages=()
fi

missing_of() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(missing_of "${packages[@]}")
mapfile -t missing_later < <(missing_of "${python_packages[@]}")
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
# The quickstart takes the packages it needs and not their recommendations (pandas' pull
# numba and LLVM, libopencv-dev every OpenCV module): from a bare Debian 12 (debootstrap
# minbase) 602 packages and 480 MB downloaded, against 838 and 699 MB with them. The tests
# keep Debian's defaults (the browser test's fonts, ssh for mpirun). Another apt or dpkg
# holding the lock is waited for (at most 10 minutes), not an error.
recommends=(--no-install-recommends)
[[ "${1:-}" == "--tests" ]] && recommends=()
apt_install() {
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    "${recommends[@]}" "$@" >/dev/null
}
if ((${#missing[@]} + ${#missing_later[@]})); then
  $sudo apt-get update -qq -o DPkg::Lock::Timeout=600
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi
later_pid=""
later_log=""
if ((${#missing_later[@]})); then
  echo "setup: installing ${missing_later[*]} while building"
  later_log=$(mktemp)
  apt_install "${missing_later[@]}" >"$later_log" 2>&1 &
  later_pid=$!
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# Without --tests only aimrun is built (the quickstart needs nothing else); with it, the
# tests and benchmarks too. A build folder that has the tests keeps them.
parts=()
if [[ "${1:-}" == "--tests" ]]; then
  parts=(-DAIM_BUILD_TESTS=ON -DAIM_BUILD_BENCH=ON)
elif ! grep -qs '^AIM_BUILD_TESTS:BOOL=ON' build/CMakeCache.txt; then
  parts=(-DAIM_BUILD_TESTS=OFF -DAIM_BUILD_BENCH=OFF)
fi
build_status=0
{ cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${parts[@]}" >/dev/null &&
  cmake --build build -j "$(nproc)"; } || build_status=$?
# The packages installed beside the build are waited for whether or not it configured and
# built, so that their failure is reported and setup.sh never ends while dpkg runs.
if [[ -n "$later_pid" ]]; then
  if ! wait "$later_pid"; then
    cat "$later_log" >&2
    echo "setup: installing ${missing_later[*]} failed (above)" >&2
    rm -f "$later_log"
    exit 1
  fi
  rm -f "$later_log"
fi
((build_status == 0)) || exit "$build_status"
echo "setup: built build/runner/aimrun"
