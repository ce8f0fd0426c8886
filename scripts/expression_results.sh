#!/usr/bin/env bash
# The expression-profile results of docs/results.md and docs/profiles.md (issue 24):
# examples/expression.toml on seeds 0-2, and seed 0 without the per-gene head's self effect.
#   scripts/expression_results.sh            # 4 runs, about 1-2 min each on one thread
# Runs go to $RUNS (default runs/results); a run whose folder has its metrics.json is not trained again.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs/results}
train() {
    local name=$1; shift
    [ -f "$RUNS/$name/metrics.json" ] || cellreg run examples/expression.toml --out "$RUNS/$name" "$@" >/dev/null
}
for s in 0 1 2; do train "expression_s$s" --set "seed=$s"; done
train expression_no_self --set model.head.self_effect=false
python - "$RUNS" <<'PY'
import json, statistics, sys
runs = sys.argv[1]
metrics = ("pearson_delta", "pearson_delta_top20", "mse_top20", "direction_top20", "cosine_delta")
def test(name):
    return json.load(open(f"{runs}/{name}/metrics.json"))["test"]["expression"]
rows = {"model (per_gene)": lambda t: t, "training_mean": lambda t: t["training_mean"], "no_change": lambda t: t["no_change"]}
print("| test, seeds 0-2 | " + " | ".join(metrics) + " |")
print("|---|" + "---|" * len(metrics))
seeds = [test(f"expression_s{s}") for s in range(3)]
for label, pick in rows.items():
    cells = []
    for m in metrics:
        v = [pick(t)[m] for t in seeds]
        cells.append("undefined" if None in v else f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}")
    print(f"| {label} | " + " | ".join(cells) + " |")
print()
print("pearson_delta_top20 per seed: model " + ", ".join(f"{t['pearson_delta_top20']:.3f}" for t in seeds)
      + "; training_mean " + ", ".join(f"{t['training_mean']['pearson_delta_top20']:.3f}" for t in seeds))
n = test("expression_no_self")
print(f"seed 0 without the self effect: model {n['pearson_delta_top20']:.3f}, training_mean "
      f"{n['training_mean']['pearson_delta_top20']:.3f} (pearson_delta_top20)")
PY
