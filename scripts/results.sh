#!/usr/bin/env bash
# Every figure of docs/results.md, one section at a time:
#
#   scripts/results.sh                      all sections, in order
#   scripts/results.sh baseline dango       only these (baseline transformer step dango environments compare)
#
# Runs go to $RUNS (default runs/results), one folder per run; a run whose folder already has its
# metrics.json is not trained again (FRESH=1 retrains it), so an interrupted script picks up where
# it stopped and `compare` reuses the seed-0 runs of the other sections. Training runs use
# train.threads=$THREADS (default 1: the figures in docs/ are 1-thread figures, identical on every
# machine); the yeast-scale step benchmark runs with OMP_NUM_THREADS=$THREADS. Every run's wall time
# goes to $RUNS/wall.tsv; at the end scripts/results_tables.py prints every table of
# docs/results.md from the run folders, to stdout and $RUNS/tables.md.
#
# Needs the active Python environment to have cellreg (e.g. `. .venv/bin/activate` after
# `make setup`); the baseline section installs the example plugin (examples/plugin) into it for
# the section's runs and uninstalls it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-runs/results}
THREADS=${THREADS:-1}
FRESH=${FRESH:-0}
SECTIONS=("$@")
[ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(baseline transformer step dango environments compare)
mkdir -p "$RUNS"
touch "$RUNS/wall.tsv"

log() { printf '[results %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# train NAME CONFIG [--set ...]: one `cellreg run` into $RUNS/NAME, timed.
train() {
    local name=$1 config=$2
    shift 2
    local dir="$RUNS/$name"
    if [ "$FRESH" != 1 ] && [ -f "$dir/metrics.json" ]; then
        log "$name: done already ($dir/metrics.json; FRESH=1 retrains)"
        return
    fi
    rm -rf "$dir"
    log "$name: cellreg run $config $*"
    local start end
    start=$(date +%s.%N)
    cellreg run "$config" --out "$dir" --set train.threads="$THREADS" "$@" > "$RUNS/$name.log" 2>&1 \
        || { log "$name failed: see $RUNS/$name.log"; tail -20 "$RUNS/$name.log" >&2; exit 1; }
    end=$(date +%s.%N)
    grep -v "^$name	" "$RUNS/wall.tsv" > "$RUNS/wall.tsv.new" || true
    awk -v n="$name" -v a="$start" -v b="$end" 'BEGIN { printf "%s\t%.2f\n", n, b - a }' >> "$RUNS/wall.tsv.new"
    mv "$RUNS/wall.tsv.new" "$RUNS/wall.tsv"
    log "$name: $(tail -1 "$RUNS/wall.tsv" | cut -f2) s wall"
}

section_baseline() {
    # The example plugin is installed for this section only: left installed, it would be a
    # third-party plugin in the environment, which the test suite does not expect.
    local installed=0
    if ! cellreg plugins | grep neighbour_mean > /dev/null; then
        log "installing the example plugin (examples/plugin) for this section; uninstalled after it"
        python -m pip install --quiet ./examples/plugin
        installed=1
        trap 'python -m pip uninstall --quiet --yes cellreg-neighbour' EXIT
    fi
    for s in 0 1 2; do
        for enc in gene_embedding neighbour_mean; do
            train "b_${enc}_s$s" examples/baseline.toml --set model.encoder.name=\""$enc"\" --set seed=$s
        done
    done
    if [ "$installed" = 1 ]; then
        python -m pip uninstall --quiet --yes cellreg-neighbour
        trap - EXIT
    fi
}

section_transformer() {
    for s in 0 1 2; do
        for w in 0.1 0.0; do
            train "t_w${w}_s$s" examples/transformer.toml --set seed=$s \
                --set "loss=[{name=\"mse\"}, {name=\"graph_kl\", weight=$w}]"
        done
    done
}

section_step() {
    # Yeast scale, one training step of the transformer; then where its time goes (torch profiler).
    log "step: benchmarks/transformer_step.py --steps 5 (OMP_NUM_THREADS=$THREADS)"
    OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS python benchmarks/transformer_step.py --steps 5 \
        > "$RUNS/transformer_step.json"
    log "step: benchmarks/transformer_step.py --profile --steps 2"
    OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS python benchmarks/transformer_step.py --profile --steps 2 \
        > "$RUNS/transformer_profile.json"
}

section_dango() {
    for s in 0 1 2; do
        train "d_s$s" examples/dango.toml --set seed=$s
    done
    train d_nopre_s0 examples/dango.toml --set model.encoder.pretrain_epochs=0 --set train.epochs=20
}

section_environments() {
    # The environment-aware model and its blind twin on the held-out 34 °C (docs/environments.md).
    for s in 0 1 2; do
        train "env_aware_s$s" examples/environments.toml --set seed=$s
        train "env_blind_s$s" examples/environments_blind.toml --set seed=$s
    done
    python - "$RUNS" <<'PY'
import json, statistics, sys
runs = sys.argv[1]
rows = {m: [json.load(open(f"{runs}/env_{m}_s{s}/metrics.json"))["test"]["fitness"]["pearson"] for s in (0, 1, 2)]
        for m in ("aware", "blind")}
print("| model | seed 0 | seed 1 | seed 2 | mean ± sd |\n|---|---|---|---|---|")
for m, v in rows.items():
    print(f"| {m} | " + " | ".join(f"{x:.3f}" for x in v) + f" | {statistics.mean(v):.3f} ± {statistics.stdev(v):.3f} |")
gap = [a - b for a, b in zip(rows["aware"], rows["blind"])]
print(f"| aware − blind | " + " | ".join(f"{x:+.3f}" for x in gap) + f" | {statistics.mean(gap):+.3f} ± {statistics.stdev(gap):.3f} |")
PY
}

section_compare() {
    # The seed-0 runs of the other sections are the example configs as they are: reused (same
    # folders, not retrained even with FRESH=1), trained here when those sections did not run.
    train label_mean examples/baseline.toml --set 'name="label_mean"' \
        --set 'model.encoder={name="none"}' --set 'model.head={name="mean"}' --set 'train.select="val.loss"'
    FRESH=0 train b_gene_embedding_s0 examples/baseline.toml --set 'model.encoder.name="gene_embedding"' --set seed=0
    FRESH=0 train t_w0.1_s0 examples/transformer.toml --set seed=0 --set 'loss=[{name="mse"}, {name="graph_kl", weight=0.1}]'
    FRESH=0 train d_s0 examples/dango.toml --set seed=0
    train hetero_cell examples/hetero_cell.toml
    cellreg compare "$RUNS/label_mean" "$RUNS/b_gene_embedding_s0" "$RUNS/t_w0.1_s0" "$RUNS/d_s0" \
        "$RUNS/hetero_cell" --out docs/compare_seed0
}

for section in "${SECTIONS[@]}"; do
    case $section in
        baseline|transformer|step|dango|environments|compare) ;;
        *) echo "unknown section '$section' (baseline transformer step dango environments compare)" >&2; exit 2 ;;
    esac
    start=$(date +%s)
    "section_$section"
    log "section $section: $(( $(date +%s) - start )) s"
done
python scripts/results_tables.py "$RUNS" --threads "$THREADS" | tee "$RUNS/tables.md"
