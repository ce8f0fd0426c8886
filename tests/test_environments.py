"""Environments as model inputs (issue 23): typed columns read from real formats, strain identity,
the encoders, one seam for every family, splits, predict and screen under a condition."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import numpy as np
import pytest
import tomli

from cellreg.config import ConfigError
from cellreg.plugin_api.run_config import parse_config
from cellreg.data.environment import EnvColumn, EnvKind, Environment
from cellreg.data.environment_columns import EnvironmentSpec
from cellreg.data.environment_schema import EnvironmentSchema, constant_environment
from cellreg.data.graph import CellGraph
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.data.strain_keys import strain_keys
from cellreg.data.strain_table import TableConfig, load_strain_table

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SGA_HEADER = ("Query Strain ID\tQuery allele name\tArray Strain ID\tArray allele name\tArraytype/Temp\t"
              "Genetic interaction score (ε)\tP-value\tQuery single mutant fitness (SMF)\tArray SMF\t"
              "Double mutant fitness\tDouble mutant fitness standard deviation\n")


def _sga(path: Path) -> Path:
    """Costanzo 2016's SGA table layout: one pair screened at 26 and 30 °C, with two query alleles."""
    rows = [("YAL001C_tsq508", "tfc3-g349e", "YBR123C_tsa111", "tfc1-ts", "TSA26", "-0.2", "0.01"),
            ("YAL001C_tsq509", "tfc3-1", "YBR123C_tsa111", "tfc1-ts", "TSA26", "-0.4", "0.02"),
            ("YAL001C_tsq508", "tfc3-g349e", "YBR123C_tsa111", "tfc1-ts", "TSA30", "0.3", "0.03"),
            ("YAL002W_dma1", "vps8", "YBR123C_dma2", "tfc1", "DMA30", "0.1", "0.2")]
    path.write_text(SGA_HEADER + "".join("\t".join([*r, "0.9", "0.8", "0.7", "0.05"]) + "\n" for r in rows))
    return path


GRAPH = CellGraph(genes=("YAL001C", "YAL002W", "YBR123C"), relations={})
SGA = TableConfig("x", gene_columns=["Query Strain ID", "Array Strain ID"], strip_suffix="_",
                  labels=["Genetic interaction score (ε)"],
                  environment=[EnvironmentSpec("Arraytype/Temp", "costanzo_screen")])


@pytest.mark.parametrize("engine", ["lines", "auto"])
def test_costanzo_arraytype_temp_is_array_type_and_temperature(tmp_path, engine):
    table, _ = load_strain_table(_sga(tmp_path / "SGA_NxN.txt"), GRAPH, SGA, engine)
    env = table.environment
    assert env.names == ("array_type", "temperature")
    assert list(env.column("array_type").text()) == ["TSA", "TSA", "TSA", "DMA"]
    assert env.column("temperature").values.tolist() == [26, 26, 30, 30]
    assert env.column("temperature").unit == "C"


def test_replicates_average_only_within_one_environment(tmp_path):
    import attrs

    config = attrs.evolve(SGA, aggregate="mean")
    table, stats = load_strain_table(_sga(tmp_path / "SGA_NxN.txt"), GRAPH, config)
    # the two 26 °C alleles of one pair are replicates; the same pair at 30 °C is another strain
    assert table.num_strains == 3 and stats.replicate_rows == 1
    assert np.allclose(table.labels[:, 0], [-0.3, 0.3, 0.1])
    assert list(table.environment.column("temperature").values) == [26, 30, 30]
    keys = strain_keys(table)
    assert keys[0] != keys[1]  # one gene pair, two environments: two strains


def _chemgen(path: Path) -> Path:
    """A chemical-genomics table: strain, compound, dose with its unit, fitness score."""
    path.write_text("strain\tcompound\tdose\tunit\tfitness\n"
                    "YAL001C\trapamycin\t10\tnM\t0.8\n"
                    "YAL001C\trapamycin\t0.1\tuM\t0.6\n"
                    "YAL002W\tbenomyl\t0\tuM\t1.0\n"
                    "YAL002W\tbenomyl\t5\tµM\t0.7\n")
    return path


CHEMGEN = TableConfig("x", genes="strain", labels=["fitness"],
                      environment=[EnvironmentSpec("compound", "dose", dose_column="dose", unit_column="unit")])


def test_chemical_genomics_doses_are_converted_to_one_unit(tmp_path):
    table, _ = load_strain_table(_chemgen(tmp_path / "chemgen.tsv"), GRAPH, CHEMGEN)
    col = table.environment.column("compound")
    assert col.kind is EnvKind.DOSE and col.unit == "uM"
    assert np.allclose(col.values, [0.01, 0.1, 0.0, 5.0])
    assert list(np.asarray(col.categories)[col.codes]) == ["rapamycin", "rapamycin", "benomyl", "benomyl"]


def test_bad_environment_cells_name_the_file_and_column(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("strain\tcompound\tdose\tunit\tfitness\nYAL001C\trapamycin\tlots\tnM\t0.8\n")
    with pytest.raises(ValueError, match=r"bad.tsv: column 'dose' holds 'lots', which is not a number"):
        load_strain_table(path, GRAPH, CHEMGEN)
    path.write_text("strain\tcompound\tdose\tunit\tfitness\nYAL001C\trapamycin\t1\tfurlongs\t0.8\n")
    with pytest.raises(ValueError, match=r"column 'unit': unknown dose unit 'furlongs'"):
        load_strain_table(path, GRAPH, CHEMGEN)
    path.write_text("strain\tcompound\tdose\tunit\tfitness\nYAL001C\trapamycin\t1\tnM\t0.8\nYAL001C\tx\t1\tmg/ml\t1\n")
    with pytest.raises(ValueError, match=r"mixes units of different kinds"):
        load_strain_table(path, GRAPH, CHEMGEN)
    path.write_text(SGA_HEADER.replace("Arraytype/Temp", "Temp"))
    with pytest.raises(ValueError, match=r"Arraytype/Temp"):
        load_strain_table(path, GRAPH, SGA)


def test_table_with_environment_survives_save_cache_and_select(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    path = _sga(tmp_path / "SGA_NxN.txt")
    first, _ = load_strain_table(path, GRAPH, SGA)
    cached, _ = load_strain_table(path, GRAPH, SGA)  # from the table cache
    first.save(tmp_path / "t.npz")
    loaded = PhenotypeTable.load(tmp_path / "t.npz")
    for other in (cached, loaded):
        assert other.fingerprint() == first.fingerprint()
        assert list(other.environment.text()) == list(first.environment.text())
    picked = first.select(np.array([3, 0]))
    assert list(picked.environment.text()) == [first.environment.text()[3], first.environment.text()[0]]
    without = PhenotypeTable(first.offsets, first.genes, first.kinds, first.labels, first.label_names,
                             first.gene_names)
    assert without.fingerprint() != first.fingerprint()


def _schema_column(kind: str, values, codes, categories=(), unit="") -> EnvColumn:
    return EnvColumn("x", kind, np.asarray(values, np.float32), np.asarray(codes, np.int32), categories, unit)


def test_unseen_category_uses_the_unknown_slot_with_a_notice(caplog):
    train = _schema_column("categorical", [0, 0, 0], [0, 1, 0], ("YPD", "SC"))
    schema = EnvironmentSchema.fit(Environment((train,)), ["x"], np.arange(3))
    new = _schema_column("categorical", [0, 0, 0], [0, 1, 2], ("SC", "YPGal", "YPD"))  # another order, one new
    with caplog.at_level(logging.WARNING, logger="cellreg"):
        _, codes = schema.encode(Environment((new,)), 3, "new.tsv")
    assert codes[:, 0].tolist() == [1, 2, 0]  # SC, unknown (= 2 categories), YPD: matched by name
    assert "never seen in training (YPGal): 1 strains use its 'unknown' slot" in caplog.text


def test_numeric_outside_the_training_range_is_a_notice(caplog):
    train = _schema_column("numeric", [26, 30, 30], [0, 0, 0], unit="C")
    schema = EnvironmentSchema.fit(Environment((train,)), ["x"], np.arange(3))
    assert schema.columns[0].mean == pytest.approx(86 / 3) and schema.columns[0].std == pytest.approx(np.std([26, 30, 30]))
    with caplog.at_level(logging.WARNING, logger="cellreg"):
        schema.encode(Environment((_schema_column("numeric", [28, 37], [0, 0], unit="C"),)), 2, "new.tsv")
    assert "1 strains have x values outside the training range 26 to 30 C" in caplog.text


def test_dose_response_is_exactly_zero_at_dose_zero_for_every_compound():
    import torch

    from cellreg.plugin_api.sources import Context
    from cellreg_environment_encoders.configs import EncoderWidth
    from cellreg_environment_encoders.encoders import DoseResponse

    column = EnvironmentSchema.fit(Environment((_schema_column("dose", [0, 1, 10, 100], [0, 1, 2, 0],
                                                               ("a", "b", "c"), "uM"),)), ["x"], np.arange(4)).columns[0]
    torch.manual_seed(0)
    enc = DoseResponse(EncoderWidth(dim=4), Context(environment_column=column))
    with torch.no_grad():
        enc.beta.normal_()
        enc.bias.normal_()
    codes = torch.tensor([0, 1, 2, 3])  # 3: a compound never seen in training
    assert torch.equal(enc(torch.zeros(4), codes), torch.zeros(4, 4))
    assert torch.equal(enc(torch.full((4,), 10.0), codes)[3], torch.zeros(4))  # unseen: no effect at any dose
    doses = torch.tensor([1.0, 10.0, 100.0])
    r = enc.response(doses, torch.zeros(3, dtype=torch.long))
    assert torch.all(r != 0) and (torch.diff(r).sign() == torch.sign(enc.beta[0])).all()  # monotone in dose


def _env_config(family: str) -> dict:
    """An example family's config, shrunk, grown under the synthetic organism's conditions."""
    raw = tomli.loads((EXAMPLES / f"{family}.toml").read_text())
    raw["graph"]["genes"] = 120
    raw["phenotypes"] = {"name": "synthetic", "doubles": 300, "triples": 0,
                         "environment": {"temperatures": [26.0, 30.0, 37.0], "doses": [0.0, 10.0], "per_strain": 2}}
    raw["split"] = {"kind": "environment", "environment": "temperature", "test_values": ["30"], "val_fraction": 0.2}
    raw["environment"] = [{"column": "temperature", "name": "standardized", "dim": 4},
                          {"column": "inhibitor", "name": "dose_response", "dim": 4}]
    raw["train"] = {**raw.get("train", {}), "epochs": 1, "select": "val.fitness.pearson"}
    raw["train"].pop("labels", None)
    return raw


@pytest.mark.parametrize("family", ["baseline", "transformer", "hetero_cell", "dango", "dcell"])
def test_every_family_takes_the_environment_through_one_seam(family):
    import torch

    from cellreg.training.pipeline import Pipeline

    pipe = Pipeline(parse_config(_env_config(family)), base_dir=EXAMPLES)
    pipe.preflight()
    model = pipe.model
    assert model.environment is not None
    with torch.no_grad():  # the readout starts as 0; give it weights so the condition shows
        for p in model.environment.parameters():
            p.normal_(0, 0.5)
    rows = pipe.data.split.train[:8]
    batch = pipe.collate(rows)
    model.eval()
    hot = model(batch)["pred"]
    batch["env_values"] = batch["env_values"].clone()
    batch["env_values"][:, 0] -= 10.0  # ten degrees colder
    cold = model(batch)["pred"]
    assert not torch.allclose(hot, cold)
    model.train()
    model(pipe.collate(rows))["loss"].backward()
    grads = [p.grad for p in model.environment.encoders.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_a_family_that_cannot_use_an_environment_is_refused_before_any_work():
    from cellreg.training.pipeline import Pipeline

    raw = _env_config("baseline")
    raw["model"] = {"encoder": {"name": "none"}, "head": {"name": "mean"}}
    pipe = Pipeline(parse_config(raw), base_dir=EXAMPLES)
    with pytest.raises(ConfigError, match=r"the 'mean' head \(model.head\) cannot use an environment"):
        pipe.preflight()
    assert "data" not in pipe.__dict__  # nothing was loaded


def test_environment_terms_are_checked_against_the_phenotypes_before_loading():
    from cellreg.training.pipeline import Pipeline

    raw = _env_config("baseline")
    raw["environment"] = [{"column": "temprature", "name": "standardized"},
                          {"column": "inhibitor", "name": "category_embedding"}]
    with pytest.raises(ConfigError) as err:
        Pipeline(parse_config(raw), base_dir=EXAMPLES).preflight()
    text = str(err.value)
    assert "no environment column 'temprature'; they have: temperature, inhibitor" in text
    assert "'category_embedding' encodes categorical columns; 'inhibitor' is dose" in text


def _grown_table() -> PhenotypeTable:
    from cellreg.plugin_api.run_config import parse_config as parse
    from cellreg.training.pipeline import Pipeline

    return Pipeline(parse(_env_config("baseline")), base_dir=EXAMPLES).data.table


def test_held_out_environment_split_tests_only_the_held_out_value():
    from cellreg.config.split_config import SplitConfig
    from cellreg.data.splits import make_split

    table = _grown_table()
    temp = table.environment.column("temperature").values
    split = make_split(table, SplitConfig(kind="environment", environment="temperature", test_values=["30"],
                                          val_values=["37"]))
    assert set(temp[split.test]) == {30} and set(temp[split.val]) == {37} and set(temp[split.train]) == {26}
    with pytest.raises(ConfigError, match="no strain has temperature = 31"):
        make_split(table, SplitConfig(kind="environment", environment="temperature", test_values=["31"]))
    with pytest.raises(ConfigError, match="no environment column 'temp'"):
        make_split(table, SplitConfig(kind="environment", environment="temp", test_values=["30"]))


def test_environment_transfer_tests_sets_seen_under_other_conditions():
    from cellreg.config.split_config import SplitConfig
    from cellreg.data.splits import make_split
    from cellreg.data.strain_keys import set_keys

    table = _grown_table()
    split = make_split(table, SplitConfig(kind="environment_transfer", val_fraction=0.1, test_fraction=0.2))
    sets = set_keys(table.offsets, table.genes, table.kinds)
    strains = strain_keys(table)
    assert len(split.test) == round(0.2 * len(table))
    assert np.isin(sets[split.test], sets[split.train]).all()  # the set was trained on ...
    assert not np.isin(strains[split.test], strains[split.train]).any()  # ... under another condition


def test_constant_environment_for_screen_names_what_is_missing():
    train = Environment((_schema_column("numeric", [26, 30], [0, 0], unit="C"),
                         EnvColumn("drug", "dose", np.array([0, 10], np.float32), np.zeros(2, np.int32), ("rap",), "uM")))
    schema = EnvironmentSchema.fit(train, ["x", "drug"], np.arange(2))
    env = constant_environment(schema, {"x": "28", "drug": "rap:5"}, 3, "--environment")
    values, codes = schema.encode(env, 3, "--environment")
    assert values.tolist() == [[28, 5]] * 3 and codes[:, 1].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="give drug=VALUE"):
        constant_environment(schema, {"x": "28"}, 3, "--environment")
    with pytest.raises(ValueError, match="expected compound:dose"):
        constant_environment(schema, {"x": "28", "drug": "5"}, 3, "--environment")


def test_predict_and_screen_score_under_the_condition_given(tmp_path):
    import tomli_w

    from cellreg.commands.predict import predict
    from cellreg.commands.screen import screen
    from cellreg.training.trainer import run

    raw = _env_config("baseline")
    raw["train"]["progress"] = False
    (tmp_path / "env.toml").write_text(tomli_w.dumps(raw))
    report = run(tmp_path / "env.toml", tmp_path / "run")
    by_env = report["test_by_environment"]  # the held-out value, scored as the overall test set
    assert list(by_env) == ["temperature=30"] and by_env["temperature=30"]["strains"] == report["split_sizes"]["test"]
    assert by_env["temperature=30"]["fitness"]["pearson"] == pytest.approx(report["test"]["fitness"]["pearson"])
    genes = "G00001+G00002"
    (tmp_path / "new.tsv").write_text(f"genes\ttemperature\tinhibitor\tinhibitor_dose\n{genes}\t37\tinhibitor\t10\n"
                                      f"{genes}\t26\tinhibitor\t0\n")
    out = predict(tmp_path / "run", tmp_path / "new.tsv", tmp_path / "pred.tsv")
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    fit = lines[0].index("pred_fitness")
    for row, condition in ((1, ["temperature=37", "inhibitor=inhibitor:10"]),
                           (2, ["temperature=26", "inhibitor=inhibitor:0"])):
        ranked = tmp_path / f"screen{row}.tsv"
        screen([tmp_path / "run"], ranked, objectives=["fitness:min"], genes=["G00001", "G00002"], sizes=[2],
               environment=condition, progress=False)
        got = ranked.read_text().splitlines()[1].split("\t")
        assert float(got[2]) == pytest.approx(float(lines[row][fit]), rel=1e-5)
    (tmp_path / "missing.tsv").write_text(f"genes\ttemperature\n{genes}\t37\n")
    with pytest.raises(Exception, match="inhibitor"):
        predict(tmp_path / "run", tmp_path / "missing.tsv", tmp_path / "p2.tsv")


def test_synthetic_environments_plant_a_heat_module_and_an_inhibited_pathway():
    from cellreg_synthetic.configs import SyntheticEnvironmentConfig
    from cellreg_synthetic.environments import grow

    rng = np.random.default_rng(0)
    n, s = 200, 400
    z = rng.standard_normal((n, 4))
    sets = np.stack([np.arange(s) % n, (np.arange(s) * 7 + 1) % n], 1)
    offsets = np.arange(0, 2 * s + 1, 2)
    labels = np.stack([np.ones(s), np.zeros(s)], 1)
    config = SyntheticEnvironmentConfig(temperatures=[22.0, 37.0], doses=[0.0, 100.0], per_strain=4, heat_cost=0.4,
                                        drug_cost=0.5, ic50=5.0)
    offsets2, genes2, grown, env = grow(offsets, sets.ravel(), labels, z, config, np.random.default_rng(1))
    assert len(grown) == 4 * s  # every strain under all four conditions
    temp, dose = env.column("temperature").values, env.column("inhibitor").values
    fitness = grown[:, 0]
    cold_plain = (temp == 22) & (dose == 0)
    assert np.allclose(fitness[cold_plain], 1.0, atol=0.01)  # 22 °C and no drug: as planted
    hot = fitness[(temp == 37) & (dose == 0)]
    hill = 100 ** 2 / (100 ** 2 + 25)
    drugged = fitness[(temp == 22) & (dose == 100)]
    # a deleted heat-module gene costs up to 0.4 at 37 °C; the drug costs 0.1 s(d), and half more with the pathway hit
    assert set(np.round(hot, 2)) <= {1.0, round(1 - 0.4 / (1 + np.exp(-5)), 2), round((1 - 0.4 / (1 + np.exp(-5))) ** 2, 2)}
    assert hot.min() < 0.7 and (hot == 1).mean() > 0.5
    assert np.allclose(np.sort(np.unique(np.round(drugged, 4))),
                       np.round(sorted({1 - 0.1 * hill, (1 - 0.1 * hill) * (1 - 0.5 * hill)}), 4))


def test_a_published_test_file_keeps_its_environment(tmp_path):
    from cellreg.data.published_splits import concatenate

    main, _ = load_strain_table(_sga(tmp_path / "SGA_NxN.txt"), GRAPH, SGA)
    path = tmp_path / "test.txt"
    path.write_text(SGA_HEADER + "YAL002W_dma1\tvps8\tYBR123C_tsa111\ttfc1-ts\tTSA26\t0.5\t0.1\t0.9\t0.8\t0.7\t0.05\n")
    test, _ = load_strain_table(path, GRAPH, SGA)
    joined, origin = concatenate([main, test], ["main", "test"])
    assert list(joined.environment.text()) == list(main.environment.text()) + list(test.environment.text())
    assert origin.tolist() == [0, 0, 0, 0, 1]
    bare = PhenotypeTable(test.offsets, test.genes, test.kinds, test.labels, test.label_names, test.gene_names)
    with pytest.raises(ConfigError, match="environment columns differ between the files"):
        concatenate([main, bare], ["main", "test"])


def test_a_large_random_split_sides_each_set_under_each_environment_together(monkeypatch):
    """The hashed split (from HASHED_MIN_STRAINS strains) keys a strain by its exact set and its
    environment: replicates under one environment share a side; one set under two may not."""
    from cellreg.config.split_config import SplitConfig
    from cellreg.data import splits

    monkeypatch.setattr(splits, "HASHED_MIN_STRAINS", 1)
    table = _grown_table()
    split = splits.make_split(table, SplitConfig(kind="random", seed=1), write_cache=False)
    env = table.environment.text()
    side: dict = {}
    for part in ("train", "val", "test"):
        for r in getattr(split, part):
            genes, kinds = table.strain(r)
            side.setdefault((frozenset(zip(genes.tolist(), kinds.tolist())), env[r]), set()).add(part)
    assert all(len(parts) == 1 for parts in side.values())
    by_set: dict = {}
    for (genes, _), parts in side.items():
        by_set.setdefault(genes, set()).update(parts)
    assert any(len(parts) > 1 for parts in by_set.values())  # environments split some sets
