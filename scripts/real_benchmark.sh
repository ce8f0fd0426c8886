#!/usr/bin/env bash
# docs/real_benchmark.md: every family on the real benchmark (examples/real_*.toml: Costanzo 2016
# chromatin subsystem, DCell's published split), each tuned with the same budget on validation rows
# only, then trained on seeds 0-2 and scored once on the published test file; the table of
# docs/results.md ("The real benchmark") is written between its markers.
#
#   scripts/real_benchmark.sh                      # into runs/real_benchmark (OUT=...)
#   TRIALS=0 scripts/real_benchmark.sh             # no tuning: the example configs as they are
#   FAMILIES="baseline dango" scripts/real_benchmark.sh   # some families (the first is the reference)
#   ENSEMBLES="graph_profile+hypersagnn" ...       # also the mean of these families' predictions, per seed
#   MARKER=real-benchmark-asis ...                  # the docs markers the table goes between
#   FOLDS=0 ...                                    # no cross-validation (default 5 folds)
#
# Per family: `cellreg sweep` of examples/real_<family>.toml over examples/sweeps/real_<family>.toml
# (TRIALS trials, default 4, TPE, median pruning, every trial at seed 0: --same-seed) and one run of
# the config as it is at seed 0; the best of these TRIALS + 1 candidates on validation
# (scripts/real_benchmark.py best-sets; the test split chooses nothing) is trained on seeds SEEDS with
# `cellreg run`, and
# `cellreg predict` of the test file into each run's test_predictions.tsv. With the same settings, FOLDS
# more runs at seed 0 (`split.folds = FOLDS`, fold 0..FOLDS-1) predict their own validation fold, so
# every training pair is predicted once, out of fold: the cross-validation that selects the family
# (scripts/real_benchmark.py cv; table between the real-benchmark-cv markers). A finished sweep or run is
# not redone (FRESH=1 redoes everything). 1 torch thread per run (THREADS). On a shared machine,
# LOCK=/tmp/cellreg-heavy.lock runs the sweeps and training runs of the families in HEAVY (default
# dango transformer hetero_cell: minutes of CPU per run) under `flock LOCK`, one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-runs/real_benchmark}
TRIALS=${TRIALS:-4}
THREADS=${THREADS:-1}
SEEDS=${SEEDS:-"0 1 2"}
FOLDS=${FOLDS:-5}
FAMILIES=${FAMILIES:-"baseline graph_profile hypersagnn graph_profile_hypersagnn dango dcell transformer hetero_cell"}
DOCS=${DOCS:-docs/results.md}
HEAVY=${HEAVY:-"dango transformer hetero_cell"}
[ "${FRESH:-0}" != 1 ] || rm -rf "$OUT"
mkdir -p "$OUT/runs" "$OUT/sweep" "$OUT/cv"
TEST=examples/real/GO_0000790_test.tsv

log() { printf '[real %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
start=$(date +%s)

# family FAM: sweep, then SEEDS runs with the best trial's values, then test predictions
family() {
    local fam=$1 config=examples/real_$1.toml sets=() best kv s run LOCKED=()
    if [ -n "${LOCK:-}" ] && [[ " $HEAVY " == *" $fam "* ]]; then LOCKED=(flock "$LOCK"); fi
    if [ "$TRIALS" -gt 0 ]; then
        local done_trials=0
        [ ! -f "$OUT/sweep/$fam/trials.tsv" ] || done_trials=$(( $(wc -l < "$OUT/sweep/$fam/trials.tsv") - 1 ))
        if [ "$done_trials" -ge "$TRIALS" ]; then   # a finished sweep is kept as it is
            log "$fam: sweep done already ($OUT/sweep/$fam/trials.tsv)"
        else
            log "$fam: cellreg sweep ($TRIALS trials)"
            "${LOCKED[@]}" cellreg sweep "$config" --space "examples/sweeps/real_$fam.toml" --trials "$TRIALS" \
                --out "$OUT/sweep/$fam" --same-seed --set "train.threads=$THREADS" --set train.progress=false \
                > "$OUT/sweep/$fam.log" 2>&1 || { tail -20 "$OUT/sweep/$fam.log" >&2; return 1; }
        fi
        if [ ! -f "$OUT/sweep/$fam/defaults/metrics.json" ]; then   # the config as it is: one more candidate
            rm -rf "$OUT/sweep/$fam/defaults"
            "${LOCKED[@]}" cellreg run "$config" --out "$OUT/sweep/$fam/defaults" --set seed=0 --set "train.threads=$THREADS" \
                --set train.progress=false > "$OUT/sweep/$fam.defaults.log" 2>&1 \
                || { tail -20 "$OUT/sweep/$fam.defaults.log" >&2; return 1; }
        fi
        best=$(python scripts/real_benchmark.py best-sets "$OUT/sweep/$fam" --defaults "$OUT/sweep/$fam/defaults") || return 1
        mapfile -t best < <(printf '%s' "$best")
        for kv in "${best[@]}"; do sets+=(--set "$kv"); done
        log "$fam: best on validation: ${best[*]:-the config as it is}"
    fi
    # runs made with other settings (an earlier sweep's choice) are not this family's runs: redo them
    if [ "$(cat "$OUT/runs/$fam.sets" 2>/dev/null)" != "${sets[*]:-}" ]; then
        rm -rf "$OUT/runs/${fam}"_s* "$OUT/cv/${fam}"_f*
        printf '%s' "${sets[*]:-}" > "$OUT/runs/$fam.sets"
    fi
    for s in $SEEDS; do
        run=$OUT/runs/${fam}_s$s
        [ -f "$run/test_predictions.tsv" ] && continue
        rm -rf "$run"
        log "$fam seed $s: cellreg run"
        "${LOCKED[@]}" cellreg run "$config" --out "$run" --set seed="$s" --set "train.threads=$THREADS" \
            --set train.progress=false "${sets[@]}" > "$OUT/runs/${fam}_s$s.log" 2>&1 \
            || { tail -20 "$OUT/runs/${fam}_s$s.log" >&2; return 1; }
        predictions "$run" val test || return 1
    done
    local k
    for (( k = 0; k < FOLDS; k++ )); do   # cross-validation: the training file only
        run=$OUT/cv/${fam}_f$k
        [ -f "$run/val_predictions.tsv" ] && continue
        rm -rf "$run"
        log "$fam fold $k of $FOLDS: cellreg run"
        "${LOCKED[@]}" cellreg run "$config" --out "$run" --set seed=0 --set "split.folds=$FOLDS" --set "split.fold=$k" \
            --set "train.threads=$THREADS" --set train.progress=false "${sets[@]}" > "$OUT/cv/${fam}_f$k.log" 2>&1 \
            || { tail -20 "$OUT/cv/${fam}_f$k.log" >&2; return 1; }
        predictions "$run" val || return 1
    done
}

# predictions RUN PART...: per-pair predictions of the run's validation rows (val) or the published test file (test)
predictions() {
    local run=$1 part table
    shift
    python scripts/real_benchmark.py val-table "$run" examples/real/GO_0000790_train.tsv "$run/val_pairs.tsv" || return 1
    for part in "$@"; do
        table=$run/val_pairs.tsv
        [ "$part" = val ] || table=$TEST
        cellreg predict "$run" --table "$table" --gene-columns gene_a gene_b \
            --out "$run/${part}_predictions.tsv" > "$run/predict.log" 2>&1 || { cat "$run/predict.log" >&2; return 1; }
    done
}

for fam in $FAMILIES; do
    t0=$(date +%s)
    family "$fam" || log "$fam FAILED: left out of the table (see $OUT/sweep/$fam.log or $OUT/runs/${fam}_s*.log)"
    log "$fam: $(( $(date +%s) - t0 )) s"
done
log "wall: $(( $(date +%s) - start )) s"
ens=()
for e in ${ENSEMBLES:-}; do ens+=(--ensemble "$e"); done
# shellcheck disable=SC2086
python scripts/real_benchmark.py table "$OUT" $FAMILIES --seeds $SEEDS --docs "$DOCS" --marker "${MARKER:-real-benchmark}" "${ens[@]}"
# shellcheck disable=SC2086
[ "$FOLDS" = 0 ] || python scripts/real_benchmark.py cv "$OUT" $FAMILIES --folds "$FOLDS" --docs "$DOCS" \
    --marker "${MARKER:-real-benchmark}-cv" "${ens[@]}"
