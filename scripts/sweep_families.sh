#!/usr/bin/env bash
# docs/results.md, "The same tuning budget for every family": the baseline, the transformer and DANGO
# each swept by `cellreg sweep` with the same budget (TRIALS trials, TPE, median pruning after 2
# complete trials, each family's own epochs) on the embedded organism and its gene-held-out split;
# the winners, chosen on validation, are then compared on the test split by `cellreg compare`.
#
#   scripts/sweep_families.sh            # into runs/sweep_families (OUT=...), TRIALS=4, THREADS=1
#
# A rerun resumes the studies (a study that holds its TRIALS trials runs none); FRESH=1 starts over.
# Writes OUT/<family>/trials.tsv, best.toml, plots/ and OUT/compare.md, compare.png.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-runs/sweep_families}
TRIALS=${TRIALS:-4}
THREADS=${THREADS:-1}
[ "${FRESH:-0}" != 1 ] || rm -rf "$OUT"

start=$(date +%s)
cellreg sweep examples/baseline.toml examples/transformer.toml examples/dango.toml \
    --space examples/sweeps/baseline.toml --space examples/sweeps/transformer.toml --space examples/sweeps/dango.toml \
    --trials "$TRIALS" --out "$OUT" --set "train.threads=$THREADS" --set train.progress=false
echo "wall: $(( $(date +%s) - start )) s" >&2
for family in baseline transformer dango; do
    echo "## $family"
    cat "$OUT/$family/trials.tsv"
done
