#!/usr/bin/env bash
# Download the wheels scripts/gpu_check.sh installs on the device machine (Python 3.12, x86-64, no network there)
# into deploy/gpu-wheels/wheels/, from requirements.txt beside this file: pure-Python and cp312 manylinux wheels
# only, no dependencies beyond those listed (the device's image has the rest: see requirements.txt). Run it here,
# where pip reaches the registry; the wheels are ignored by git and travel with the device call as a carried path
# (docs/gpu.md).
#     bash deploy/gpu-wheels/build.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
rm -rf "$here/wheels"
# pip matches a manylinux tag exactly: name the ones the wheels listed are built for
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_26_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d "$here/wheels" -r "$here/requirements.txt"
du -sh "$here/wheels"
