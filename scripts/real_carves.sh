#!/usr/bin/env bash
# docs/results.md, "The real benchmark", validation carves: each family's example config at model seed 0
# on five random 10 % validation carves of the training file (split.seed 0-4; the test file is the same),
# to see how much validation Pearson moves between carves and whether its average ranks families as
# the test file does.
#
#   scripts/real_carves.sh                          # into runs/real_carves (OUT=...), FAMILIES, SPLITS
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/real_carves}
FAMILIES=${FAMILIES:-"baseline graph_profile hypersagnn"}
SPLITS=${SPLITS:-"0 1 2 3 4"}
mkdir -p "$OUT"
for fam in $FAMILIES; do
    for k in $SPLITS; do
        run=$OUT/${fam}_ss$k
        [ -f "$run/metrics.json" ] && continue
        rm -rf "$run"
        cellreg run "examples/real_$fam.toml" --out "$run" --set seed=0 --set split.seed="$k" \
            --set train.threads=1 --set train.progress=false > "$run.log" 2>&1 || { tail -20 "$run.log" >&2; exit 1; }
    done
done
# shellcheck disable=SC2086
python scripts/real_benchmark.py carves "$OUT" $FAMILIES --splits $SPLITS
