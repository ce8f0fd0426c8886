"""The shipped yeast config (examples/yeast_research.toml) on small files written here in the public
formats it names: BioGRID TAB3, a TF->target table, STRING detailed, an SBML model, a Parquet
embedding, a CDS FASTA, a Costanzo 2016 table and a published test file. Everything loads as the
config says, and a model trains on it."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cobra")
pytest.importorskip("Bio")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "yeast_research.toml"
N = 40
GENES = [f"Y{'ABCDEFGH'[i % 8]}L{i:03d}W" for i in range(N)]
COSTANZO = ["Query Strain ID", "Query allele name", "Array Strain ID", "Array allele name", "Arraytype/Temp",
            "Genetic interaction score (ε)", "P-value", "Query single mutant fitness (SMF)",
            "Array SMF", "Double mutant fitness", "Double mutant fitness standard deviation"]


def costanzo(path: Path, rows: list[tuple[str, str, str, float]]) -> None:
    lines = ["\t".join(COSTANZO)]
    for q, a, screen, eps in rows:
        lines.append("\t".join([f"{q}_tsq1", q.lower(), f"{a}_dma2", a.lower(), screen, f"{eps:.4f}", "0.01",
                                "0.9", "0.95", "0.8", "0.02"]))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def yeast(tmp_path_factory):
    import cobra
    import pyarrow as pa
    import pyarrow.parquet as pq
    from cobra.manipulation import rename_genes

    root = tmp_path_factory.mktemp("yeast")
    data = root / "data" / "yeast"
    data.mkdir(parents=True)
    shutil.copy(EXAMPLE, root / "yeast_research.toml")
    rng = np.random.default_rng(0)
    (data / "yeast_genes.txt").write_text("\n".join(GENES) + "\n")
    biogrid = ["#BioGRID Interaction ID\tSystematic Name Interactor A\tSystematic Name Interactor B\t"
               "Experimental System\tExperimental System Type"]
    for i in range(60):
        a, b = rng.choice(N, 2, replace=False)
        biogrid.append(f"{i}\t{GENES[a]}\t{GENES[b]}\tTwo-hybrid\t{'physical' if i % 3 else 'genetic'}")
    biogrid.append("99\tYAL999X\tYBL999X\tTwo-hybrid\tphysical")  # not S288C: dropped
    (data / "BIOGRID-ORGANISM-Saccharomyces_cerevisiae_S288c.tab3.txt").write_text("\n".join(biogrid) + "\n")
    (data / "gene_aliases.tsv").write_text("Abf1p\tYAL000W\nADH1\tYBL001W\n")
    (data / "tf_targets.tsv").write_text("Regulator\tTarget\nAbf1p\tYCL002W\nABF1P\tADH1\nYDL003W\tYEL004W\n")
    with gzip.open(data / "4932.protein.links.detailed.v12.0.txt.gz", "wt") as f:
        f.write("protein1 protein2 neighborhood fusion cooccurence coexpression experimental database "
                "textmining combined_score\n")
        for _ in range(80):
            a, b = rng.choice(N, 2, replace=False)
            scores = rng.integers(0, 3, 6) * rng.integers(100, 900, 6)
            f.write(f"4932.{GENES[a]} 4932.{GENES[b]} " + " ".join(map(str, scores)) + " 0 500\n")
    model = cobra.io.load_model("textbook")
    rename_genes(model, {g.id: GENES[i % N] if i < N else f"YZZ{i:03d}W" for i, g in enumerate(model.genes)})
    cobra.io.write_sbml_model(model, str(data / "yeast-GEM.xml"))
    pq.write_table(pa.table({"gene": GENES[:30], "emb": [list(map(float, rng.normal(size=4))) for _ in range(30)]}),
                   data / "gene_embeddings.parquet")
    (data / "orf_coding_all.fasta").write_text("".join(
        f">{g} {g.lower()} SGDID:S0000{i}\n" + "".join(rng.choice(list("ACGT"), 3 * 40)) + "\n"
        for i, g in enumerate(GENES[:35])))
    pairs = [tuple(rng.choice(N, 2, replace=False)) for _ in range(300)]
    rows = [(GENES[a], GENES[b], "DMA30", rng.normal(0, 0.05)) for a, b in pairs]
    rows += [(GENES[a], GENES[b], "TSA30", rng.normal(0, 0.05)) for a, b in pairs[:20]]  # another allele screen
    rows += [(GENES[a], GENES[b], "DMA26", 9.0) for a, b in pairs[:30]]  # 26 °C: filtered out
    costanzo(data / "SGA_ExE.txt", rows)
    kept = [frozenset((q, a)) for q, a, screen, _ in rows if screen.endswith("30")]
    counts = np.unique([hash(k) for k in kept], return_counts=True)[1]
    (root / "replicates").write_text(f"{len(kept) - len(counts)} into {int((counts > 1).sum())}")
    test_pairs = [tuple(rng.choice(N, 2, replace=False)) for _ in range(40)]
    (root / "test_sets").write_text(str(len({frozenset(p) for p in test_pairs})))  # replicates are averaged
    costanzo(data / "benchmark_test.tsv", [(GENES[a], GENES[b], "DMA30", rng.normal(0, 0.05)) for a, b in test_pairs])
    return root


def test_the_example_loads_every_source_as_configured(yeast, capsys):
    from cellreg.commands.cli import main

    assert main(["inspect", str(yeast / "yeast_research.toml")]) == 0
    out = capsys.readouterr().out
    for relation in ("physical", "genetic", "regulatory", "string_neighborhood", "string_fusion",
                     "string_cooccurence", "string_coexpression", "string_experimental", "string_database"):
        assert f"  {relation} " in out
    assert "node type reaction: 95 nodes" in out and "node type metabolite: 72 nodes" in out
    assert "features[0] (file): 4 columns + a missing indicator, 10 genes without a vector" in out
    assert "features[1] (codon_frequency): 64 columns + a missing indicator, 5 genes without a vector" in out
    assert f", test {(yeast / 'test_sets').read_text()}" in out
    assert "  rows read: 350\n  filtered out: 30\n" in out  # the 26 °C rows
    assert f"  replicate rows averaged: {(yeast / 'replicates').read_text()} strains" in out
    assert "regulatory           directed   unweighted          3 edges" in out  # Abf1p, ABF1P and ADH1 via aliases
    assert "  genetic: joins " in out and 'dropped (held_out_edges = "drop"): physical ' in out  # no label as input


def test_a_model_trains_on_the_example(yeast):
    import json

    from cellreg.training.trainer import run

    run(yeast / "yeast_research.toml", yeast / "run",
        ["model.encoder.dim=8", "model.encoder.layers=3", "model.encoder.heads=4", "model.encoder.rows=16",
         "model.head.hidden=8", "train.epochs=1", "train.progress=false"])
    metrics = json.loads((yeast / "run" / "metrics.json").read_text())
    assert metrics["test"]["Genetic interaction score (ε)"]["n"] == int((yeast / "test_sets").read_text())
