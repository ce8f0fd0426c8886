#!/usr/bin/env bash
# Every figure of docs/benchmarks.md: the full `cellreg bench` suite at yeast scale, written to
# docs/bench_cpu (bench.json, bench.md, bench.png), then scripts/bench_tables.py prints the doc's
# header line and ratio table from it.
#
#   scripts/benchmarks.sh                  one run of the suite into docs/bench_cpu
#   REPEATS=3 scripts/benchmarks.sh        two more runs into $RUNS/bench_2, bench_3; the ratio
#                                          table then gives the median and range over all runs
#
# Threads: `cellreg bench --threads $THREADS` (default 1) for every bench worker; the figures in
# docs/benchmarks.md are 1-thread figures. Needs cellreg in the active Python environment.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-runs/results}
THREADS=${THREADS:-1}
REPEATS=${REPEATS:-1}
OUT=${OUT:-docs/bench_cpu}
mkdir -p "$RUNS"
dirs=()
for i in $(seq 1 "$REPEATS"); do
    dir=$OUT
    [ "$i" = 1 ] || dir=$RUNS/bench_$i
    echo "[benchmarks $(date +%H:%M:%S)] run $i of $REPEATS: cellreg bench --threads $THREADS --json --out $dir" >&2
    start=$(date +%s)
    cellreg bench --threads "$THREADS" --json --out "$dir" > "$RUNS/bench_$i.log"
    echo "$(( $(date +%s) - start ))" > "$dir/wall_s.txt"
    echo "[benchmarks $(date +%H:%M:%S)] run $i: $(cat "$dir/wall_s.txt") s wall" >&2
    dirs+=("$dir")
done
python scripts/bench_tables.py "${dirs[@]}" | tee "$RUNS/bench_tables.md"
