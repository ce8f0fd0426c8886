import json
import subprocess
import sys

from cellreg.commands.bench import largest_batch, load_suite, markdown


def test_bundled_suite_names_every_family_and_operator():
    suite = load_suite(None)
    assert {"additive", "transformer", "dango", "hetero_lazy", "hetero_explicit", "hetero_1hop", "hetero_2hop",
            "hetero_3hop"} <= set(suite)
    assert {s["perturbation"]["name"] for s in suite.values()} >= {"index", "lazy_mask", "explicit", "khop"}


def test_bench_measures_a_suite_and_skips_what_is_not_installed(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(
        '[additive]\nperturbation = { name = "index" }\nmodel.encoder = { name = "gene_embedding", dim = 8 }\n'
        'model.head = { name = "sum_mlp", hidden = 8 }\nloss = [{ name = "mse" }]\n'
        '[ghost]\nmodel.encoder = { name = "no_such_encoder" }\nmodel.head = { name = "sum_mlp" }\n')
    out = subprocess.run([sys.executable, "-m", "cellreg.commands.cli", "bench", "--suite", str(suite), "--genes", "200",
                          "--batch", "8", "--window-s", "0.2", "--max-step-s", "0.5", "--json", "--out",
                          str(tmp_path / "b")], capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    additive = report["methods"]["additive"]
    assert additive["strains_per_s"] > 0 and additive["max_batch"] >= 8 and additive["peak_mb"] > 0
    assert additive["nodes_per_strain"] <= 3 and additive["edges_per_strain"] == 0  # index op: the set only
    assert report["methods"]["ghost"] == {"skipped": "not installed: encoder no_such_encoder"}
    table = (tmp_path / "b" / "bench.md").read_text()
    assert "| ghost | skipped: not installed: encoder no_such_encoder |" in table
    assert (tmp_path / "b" / "bench.png").stat().st_size > 1000
    assert markdown(report) + "\n" == table


def _probe_of(memory, seconds, calls):
    def probe(b):
        calls.append(b)
        return memory(b), seconds(b)
    return probe


def test_largest_batch_stops_at_the_memory_budget_without_probing_past_it():
    calls = []
    memory, seconds = (lambda b: 500 + 20 * b), (lambda b: 0.01 * b)  # per-strain cost: 20 MB a strain
    best = largest_batch(_probe_of(memory, seconds, calls), 8, memory(0), memory(8), seconds(8), budget_mb=2000,
                         max_step_s=100, max_batch=8192)
    assert best == 64  # 500 + 20 * 64 = 1780 fits; 128 would need 3060
    assert calls == [16, 32, 64]  # 128 is predicted from 32 and 64 to overshoot, so never run


def test_largest_batch_of_a_wild_type_encoder_reaches_the_cap():
    calls = []
    memory, seconds = (lambda b: 1000 + 0.01 * b), (lambda b: 1.0 + 1e-5 * b)  # cost mostly per step
    best = largest_batch(_probe_of(memory, seconds, calls), 8, memory(0), memory(8), seconds(8), budget_mb=2000,
                         max_step_s=2.5, max_batch=4096)
    assert best == 4096 and calls[-1] == 4096
    # Time proportional to the batch, extrapolated from one point (1 s for 16), would have stopped at 32.


def test_largest_batch_respects_the_step_time_cap_measured_not_predicted():
    calls = []
    memory = lambda b: 100.0  # noqa: E731
    seconds = lambda b: 1.0 if b < 64 else 50.0  # noqa: E731  a cliff no linear prediction sees
    best = largest_batch(_probe_of(memory, seconds, calls), 8, 100.0, 100.0, 1.0, budget_mb=1e6, max_step_s=10,
                         max_batch=8192)
    assert best == 32 and calls == [16, 32, 64]


def test_a_wild_type_encoders_fixed_step_cost_does_not_cap_its_batch_search():
    """A 7 s encoder step on a slow CPU and a 10 s cap: the cap bounds what the batch adds."""
    memory, seconds = (lambda b: 1000 + 0.01 * b), (lambda b: 7.0 + 1e-4 * b)
    args = (8, memory(0), memory(8), seconds(8))
    calls = []
    best = largest_batch(_probe_of(memory, seconds, calls), *args, budget_mb=2000, max_step_s=10, max_batch=8192,
                         wild_type=True)
    assert best == 8192 and calls[0] == 16
    assert largest_batch(_probe_of(memory, seconds, []), *args, budget_mb=2000, max_step_s=10, max_batch=8192) == 8
    # a per-strain cost on top of a fixed one is still capped: 7 s + 0.01 s a strain stops before 1024
    per = lambda b: 7.0 + 0.01 * b  # noqa: E731
    assert largest_batch(_probe_of(memory, per, []), 8, memory(0), memory(8), per(8), budget_mb=2000, max_step_s=10,
                         max_batch=8192, wild_type=True) == 512
