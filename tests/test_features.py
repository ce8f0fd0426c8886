"""Gene features: the vector-file formats against one reference matrix, the missing policy, the cheap
representations, and a run that trains and scores added genes with them."""

from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

from cellreg.config import ConfigError, DataError
from cellreg.plugin_api.run_config import load_config
from cellreg.data.gene_features import join
from cellreg.data.vector_files import read_vectors
from cellreg.plugin_api.sources import GeneFeatures

GENES = [f"G{i:05d}" for i in range(6)]
VALUES = np.arange(18, dtype=np.float32).reshape(6, 3) / 7 - 1


def write_text(path, delimiter="\t", header=True, rows=None):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt") as f:
        if header:
            f.write(delimiter.join(["gene", "a", "b", "c"]) + "\n")
        for g, row in rows or zip(GENES, VALUES):
            f.write(delimiter.join([g] + [repr(float(v)) for v in row]) + "\n")


def write_every_format(tmp_path) -> dict[str, object]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from safetensors.numpy import save_file

    paths = {}
    for name, delim, header in (("h.tsv", "\t", True), ("n.tsv", "\t", False), ("h.csv", ",", True),
                                ("z.tsv.gz", "\t", True)):
        write_text(tmp_path / name, delim, header)
        paths[name] = tmp_path / name
    np.save(tmp_path / "e.npy", VALUES)
    (tmp_path / "e.genes.txt").write_text("\n".join(GENES) + "\n")
    save_file({"embedding": VALUES}, str(tmp_path / "s.safetensors"))
    (tmp_path / "s.genes.txt").write_text("\n".join(GENES) + "\n")
    pq.write_table(pa.table({"gene": GENES, "a": VALUES[:, 0], "b": VALUES[:, 1], "c": VALUES[:, 2]}),
                   tmp_path / "cols.parquet")
    pq.write_table(pa.table({"gene": GENES, "emb": [list(map(float, r)) for r in VALUES]}), tmp_path / "list.parquet")
    paths.update({n: tmp_path / n for n in ("e.npy", "s.safetensors", "cols.parquet", "list.parquet")})
    return paths


def test_every_format_reads_the_same_vectors(tmp_path):
    for name, path in write_every_format(tmp_path).items():
        got = read_vectors(path)
        assert list(got.genes) == GENES, name
        np.testing.assert_allclose(got.values, VALUES, rtol=1e-6, err_msg=name)
    assert read_vectors(tmp_path / "h.tsv").columns == ("a", "b", "c")


@pytest.mark.parametrize("content, message", [
    ("gene\ta\tb\nG1\t1\t2\nG2\t1\tx\n", r"line 3: 'x' is not a number \(gene 'G2'\)"),
    ("G1\t1\t2\nG2\t1\n", r"line 2: 1 values, expected 2 like the first line"),
    ("G1\t1\t2\nG1\t3\t4\n", r"gene 'G1' has two vectors"),
    ("G1\t1\tnan\n", r"the vector of 'G1' holds NaN"),
    ("", r"empty file"),
])
def test_bad_text_files_name_the_line(tmp_path, content, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_vectors(path)


def test_array_files_need_their_names_and_a_known_format(tmp_path):
    np.save(tmp_path / "e.npy", VALUES)
    with pytest.raises(ValueError, match=r"its gene names file .*e.genes.txt is missing"):
        read_vectors(tmp_path / "e.npy")
    (tmp_path / "e.genes.txt").write_text("A\nB\n")
    with pytest.raises(ValueError, match=r"2 gene names for the 6 rows"):
        read_vectors(tmp_path / "e.npy")
    (tmp_path / "e.h5").write_text("")
    with pytest.raises(ValueError, match=r"unknown feature file format '.h5'"):
        read_vectors(tmp_path / "e.h5")


def test_missing_policy_and_the_layout_of_added_genes():
    vocab = ["G00000", "G00001", "X"]
    f = GeneFeatures(GENES, VALUES, ["a", "b", "c"])
    with pytest.raises(DataError, match=r"1 of 3 genes of the vocabulary have no vector, e.g. X; set missing"):
        join(vocab, [("features[0] (file)", "error", f)])
    joined = join(vocab, [("f0", "zeros", f), ("f1", "error", GeneFeatures(vocab, np.ones((3, 2), np.float32), "pq"))])
    expected = np.array([[*VALUES[0], 0, 1, 1], [*VALUES[1], 0, 1, 1], [0, 0, 0, 1, 1, 1]], np.float32)
    np.testing.assert_array_equal(joined.values, expected)
    assert joined.missing == {"f0": 1, "f1": 0}
    plain = np.array([[5, 6, 7, 8, 9]], np.float32)  # the tables' value columns: 3 + 2
    np.testing.assert_array_equal(joined.widen(plain), [[5, 6, 7, 0, 8, 9]])
    with pytest.raises(ValueError, match=r"4 columns; the run's features have 5 \(f0 3 \+ f1 2\)"):
        joined.widen(np.zeros((1, 4), np.float32))


def test_codon_frequencies_by_hand(tmp_path):
    from cellreg.plugin_api.sources import Context
    from cellreg_gene_features.codons import CODONS, CodonFrequency
    from cellreg_gene_features.configs import CodonFrequencyConfig

    (tmp_path / "cds.fa").write_text(">YAL001C some gene [gene=TFC3]\nATGATG\nNNNTAA\n>YAL002W [gene=VPS8]\nATG\n"
                                     ">SHORT [gene=S]\nAT\n")
    ctx = Context(base_dir=tmp_path)
    got = CodonFrequency(CodonFrequencyConfig("cds.fa", min_codons=1), ctx).load(["YAL001C"])
    assert got.genes == ("YAL001C", "YAL002W")
    row = dict(zip(CODONS, got.values[0]))
    assert row["ATG"] == pytest.approx(2 / 3) and row["TAA"] == pytest.approx(1 / 3)  # NNN skipped
    assert sum(row.values()) == pytest.approx(1.0) and got.values[1, CODONS.index("ATG")] == 1.0
    by_symbol = CodonFrequency(CodonFrequencyConfig("cds.fa", name_from="gene", min_codons=2), ctx).load([])
    assert by_symbol.genes == ("TFC3",)  # VPS8's one codon and S's none are below min_codons


def test_generated_features_are_fixed_by_the_seed():
    from cellreg.plugin_api.sources import Context
    from cellreg_gene_features.configs import OneHotConfig, RandomFeaturesConfig
    from cellreg_gene_features.generated import OneHotFeatures, RandomFeatures

    np.testing.assert_array_equal(OneHotFeatures(OneHotConfig(), Context()).load(GENES).values, np.eye(6))
    a, b, c = (RandomFeatures(RandomFeaturesConfig(dim=4, seed=s), Context()).load(GENES).values for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and a.shape == (6, 4)


def test_config_errors_name_the_features_table(tiny_config):
    import tomli

    raw = tomli.loads(tiny_config.read_text())
    with pytest.raises(ConfigError) as err:
        load_config(tiny_config, ['features=[{name="onehto"}, {name="random", missing="skip"}, {name="random", dm=3}]'])
    text = str(err.value)
    assert "features[0].name: " in text and "onehot" in text
    assert "features[1].missing: expected one of 'error', 'zeros', got str 'skip'" in text
    assert "features[2]: unknown key 'dm' (did you mean 'dim'?)" in text
    assert raw["name"] == "tiny"


def test_validate_finds_a_missing_feature_file_first(tiny_config):
    from cellreg.training.pipeline import Pipeline

    pipe = Pipeline.from_file(tiny_config, ['features=[{name="file", paths=["nope.tsv"]}]'])
    with pytest.raises(ConfigError, match=r"features\[0\]\.paths\[0\]: no such file: .*nope.tsv"):
        pipe.preflight()


def test_a_run_trains_on_file_features_and_scores_added_genes(tiny_config, tmp_path):
    """The graph carries the joined features; an added gene's vector given as the tables' value
    columns scores exactly as the same vector given at full width (indicators in place)."""
    from cellreg.commands.predict import predict
    from cellreg.training.pipeline import Pipeline
    from cellreg.training.trainer import run

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((150, 3)).astype(np.float32)
    write_text(tmp_path / "emb.tsv", rows=[(f"G{i:05d}", emb[i]) for i in range(150)])  # 50 of 200 genes lack one
    features = 'features=[{name="random", dim=4}, {name="file", paths=["emb.tsv"], missing="zeros"}]'
    model = ['model.encoder={name="transformer", dim=16, layers=1, heads=4, rows=32}',
             'model.head={name="cross_attention", hidden=16}', "train.epochs=1"]
    pipe = Pipeline.from_file(tiny_config, [features])
    x = pipe.graph.gene_features.numpy()
    assert x.shape == (200, 4 + 3 + 1)
    np.testing.assert_allclose(x[:150, 4:7], emb)
    np.testing.assert_array_equal(x[:, 7], np.r_[np.zeros(150), np.ones(50)])
    run(tiny_config, tmp_path / "run", [features] + model)

    (tmp_path / "new.tsv").write_text("genes\tkinds\nG00001+NEW1\tdeletion+addition\n")
    plain, full = tmp_path / "plain.csv", tmp_path / "full.tsv"
    vec = [0.1, 0.2, 0.3, 0.4, 0.5, -0.5, 0.25]
    plain.write_text("gene," + ",".join("abcdefg") + "\nNEW1," + ",".join(map(str, vec)) + "\n")
    full.write_text("NEW1\t" + "\t".join(map(str, vec + [0.0])) + "\n")
    outs = [predict(tmp_path / "run", tmp_path / "new.tsv", tmp_path / f"p{i}.tsv", kinds_column="kinds",
                    added_features=f) for i, f in enumerate((plain, full))]
    preds = [list(csv.DictReader(open(o), delimiter="\t"))[0]["pred_interaction"] for o in outs]
    assert preds[0] == preds[1]
    with pytest.raises(ConfigError, match=r"no features for added gene\(s\): NEW1"):
        (tmp_path / "other.tsv").write_text("NEW2\t" + "\t".join(map(str, vec)) + "\n")
        predict(tmp_path / "run", tmp_path / "new.tsv", tmp_path / "p3.tsv", kinds_column="kinds",
                added_features=tmp_path / "other.tsv")


def test_the_additive_baseline_reads_features_when_the_graph_has_them(tiny_config):
    """Its gene vectors are the free ones plus a linear map of the features: zero the free table and
    the states are exactly features @ W.T."""
    import torch

    from cellreg.training.pipeline import Pipeline

    pipe = Pipeline.from_file(tiny_config, ['features=[{name="random", dim=5}]'])
    encoder = pipe.model.encoder
    with torch.no_grad():
        encoder.embedding.weight.zero_()
    states = encoder(None).genes
    torch.testing.assert_close(states, pipe.graph.gene_features @ encoder.project.weight.T)
    plain = Pipeline.from_file(tiny_config, ['features=[{name="random", dim=5}]', "model.encoder.features=false"])
    assert plain.model.encoder.project is None
