#!/usr/bin/env bash
# Every lesson PyTorch runs, executed on a CUDA card in the gpu profile, and the DCGAN command: one call
# (scripts/gpu_check.py says what it does; docs/gpu.md how to run it on the device machine).
#     bash scripts/gpu_check.sh [--out DIR] [--lessons 08 09] [--no-gan]   # on a CUDA machine
#     bash scripts/gpu_check.sh --dry-run --out /tmp/gpu-check            # anywhere: the smoke profile
# Where the Jupyter packages are missing (the device machine has none, and no network), it installs them from the
# wheelhouse deploy/gpu-wheels/wheels/ (bash deploy/gpu-wheels/build.sh, here) with --no-index.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
wheels=deploy/gpu-wheels/wheels
if ! "$python" -c "import nbclient, ipykernel, torchinfo" 2>/dev/null; then
    if ! compgen -G "$wheels/*.whl" >/dev/null; then
        echo "gpu_check: $python lacks nbclient/ipykernel/torchinfo and $wheels holds no wheels:" \
             "run 'bash deploy/gpu-wheels/build.sh' where pip works, and carry $wheels" >&2
        exit 2
    fi
    site=${GPU_CHECK_SITE:-/tmp/gpu-check-site}
    "$python" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$site" "$wheels"/*.whl
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"  # the lessons' kernels inherit it
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # helpers and instructor_tools without an install
export PYTHONUNBUFFERED=1
exec "$python" scripts/gpu_check.py "$@"
