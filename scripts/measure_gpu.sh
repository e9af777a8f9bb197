#!/usr/bin/env bash
# The gpu profile's measurements on a CUDA machine, in one go (docs/gan_results.md, "The gpu profile, measured on a GPU"):
#   1. the whole command, alone on the card, timed and judged (the "gpu" table);
#   2. its recipe trained again in stages and judged at each (the "gpu-stages" table), and beside it on the same
#      card, if TRY is set, a changed recipe (e.g. TRY="g_hidden=512 lr=5e-4": the "gpu-stages+…" table);
#   3. images/s with and without each speed-up (scripts/bench_gan_torch.py), written to RESULTS/bench.md;
#   4. the training loop's step, today's vs the fast one (CUDA graph), side by side, added to RESULTS/bench.md.
# The lessons on a card: scripts/gpu_check.sh (docs/gpu.md).
# Tables 1 and 2 go into DOC (default docs/gan_results.md). Runs go to RESULTS (default runs/measure).
#     bash scripts/measure_gpu.sh [RESULTS]
#     PROFILE=smoke STAGES=2,4 TRY=g_hidden=8 DOC=/tmp/dry-run.md bash scripts/measure_gpu.sh /tmp/dry-run  # on a CPU
# (RESULTS and DOC, if relative, are taken from the repository's root.)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the scripts import helpers without an install
results=${1:-runs/measure}
profile=${PROFILE:-gpu}
stages=${STAGES:-1000,2000,3000,4000,5000,6000,7000,8000,9000,10000}
python=${PYTHON:-python}
measure=("$python" scripts/measure_gans.py --profile "$profile" --frameworks torch --kinds convtranspose
         --runs "$results" --doc "${DOC:-docs/gan_results.md}")

"$python" -c "from helpers import torch_utils as t; print(t.describe(t.pick_device(verbose=False)))"
echo "== 1. the whole command, alone"
"${measure[@]}" --write
echo "== 2. the recipe in stages${TRY:+, beside it: $TRY}"
"${measure[@]}" --stages "$stages" &
staged=$!
tried=
if [[ -n ${TRY:-} ]]; then
    settings=()
    for s in $TRY; do settings+=(--set "$s"); done
    "${measure[@]}" --stages "$stages" "${settings[@]}" &
    tried=$!
fi
wait "$staged"
[[ -z $tried ]] || wait "$tried"
# the tables are written one after the other: two processes editing the file at once could lose one
"${measure[@]}" --stages "$stages" --table-only --write >/dev/null
[[ -z $tried ]] || "${measure[@]}" --stages "$stages" "${settings[@]}" --table-only --write >/dev/null
echo "== 3. speed-ups"
# shellcheck disable=SC2086  # BENCH_ARGS: more options for the bench, e.g. --no-compile
"$python" scripts/bench_gan_torch.py --profile "$profile" --steps "${BENCH_STEPS:-1000}" ${BENCH_ARGS:-} |
    tee "$results/bench.md"
echo "== 4. the loop's step, today's vs the fast one (docs/gpu.md)"
# larger batches for the fast step only for the gpu profile's model (BENCH_BATCHES: others)
batches=${BENCH_BATCHES:-$([[ $profile == gpu ]] && echo 512 2048 || true)}
# shellcheck disable=SC2086  # batches: a list of sizes
"$python" scripts/bench_gan_torch.py --side-by-side --profile "$profile" --steps "${BENCH_STEPS:-1000}" \
    --batch-sizes $batches | tee -a "$results/bench.md"
