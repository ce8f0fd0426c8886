import json
import subprocess
import sys

from cellreg.bench import load_suite, markdown


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
    out = subprocess.run([sys.executable, "-m", "cellreg.cli", "bench", "--suite", str(suite), "--genes", "200",
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
