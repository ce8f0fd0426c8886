"""The declared plugin contracts: what the registry checks at build time, the defaults plugins
declare, the run directory's schema, and the core working with only the plugins a config uses."""

import json

import attrs
import pytest
import torch
import tomli_w

from cellreg import Context, Encoder, GraphSource, Plugin
from cellreg.commands.compare import compare
from cellreg.commands.predict import predict
from cellreg.config import ConfigError
from cellreg.plugin_api.run_config import parse_config
from cellreg.plugin_api.registry import LOAD_ENV, PluginError, load_registry
from cellreg.training.rundir import SCHEMA_VERSION, RunDir
from cellreg.training.trainer import run
from conftest import TINY, FakeEntryPoint, plugin_module


class NoForward(Encoder):
    def __init__(self, config, context):
        super().__init__()


def _registry_with(*records):
    return load_registry([FakeEntryPoint("fake", plugin_module("contracts", *records))], allow=None)


@pytest.mark.parametrize("factory,expected", [
    (lambda c, ctx: torch.nn.Linear(1, 1),
     "encoder plugin 'bad' (cellreg-fake, fake = fake_fake) does not meet the encoder contract: it must subclass "
     "cellreg.Encoder (got torch.nn.modules.linear.Linear)"),
    (NoForward, "does not meet the encoder contract: it must implement forward(); set dim, the int width of its "
                "states"),
])
def test_registry_checks_built_objects_against_their_kinds_contract(factory, expected):
    registry = _registry_with(Plugin(kind="encoder", name="bad", factory=factory))
    with pytest.raises(PluginError) as err:
        registry.build("encoder", "bad", None, Context())
    assert expected in str(err.value)


def test_defaults_come_from_the_plugins_that_declare_them():
    bundled = load_registry(allow="cellreg")
    assert (bundled.default("perturbation").name, bundled.default("loss").name) == ("index", "mse")
    without = {k: v for k, v in TINY.items() if k != "loss"}
    with pytest.raises(ConfigError) as err:  # no plugin installed declares a default loss
        parse_config(without, registry=_registry_with())
    assert any(e.startswith("loss: missing [[loss]]; no installed loss plugin is a default") for e in err.value.errors)
    with pytest.raises(ValueError, match="only perturbation and loss plugins may be a default"):
        Plugin(kind="encoder", name="e", factory=object, default=True)
    twice = [Plugin(kind="loss", name=n, factory=object, default=True) for n in ("a", "b")]
    with pytest.raises(PluginError, match="two default loss plugins: 'a' .* and 'b' .*; name the loss in the config"):
        _registry_with(*twice).default("loss")


def test_run_json_is_versioned_and_checked(tmp_path):
    rd = RunDir(tmp_path)
    with pytest.raises(ConfigError, match="not a run directory"):
        rd.read_info()
    info = {"name": "", "encoder": "e", "head": "h", "perturbation": "p", "graph_fingerprint": "g",
            "data_fingerprint": "d", "split_key": "k", "split": "random", "split_sizes": {"train": 1},
            "labels": ["y"], "scaler": {"mean": [0.0], "std": [1.0]}, "base_dir": ".", "num_processes": 1,
            "cellreg_version": "0.1.0"}
    rd.info.write_text(json.dumps(info))  # written before the schema had a version: version 1
    old = rd.read_info()
    assert (old.schema_version, old.max_strain_size, SCHEMA_VERSION) == (1, None, 2)
    rd.write_info(attrs.evolve(old, max_strain_size=3, schema_version=SCHEMA_VERSION))
    assert json.loads(rd.info.read_text()) == {**info, "max_strain_size": 3, "environment": [], "coverage": {},
                                               "label_groups": [], "schema_version": 2}  # later fields' defaults
    rd.info.write_text(json.dumps({**info, "schema_version": 99}))
    with pytest.raises(ConfigError, match="run.json schema version 99 is newer"):
        rd.read_info()
    rd.info.write_text(json.dumps({k: v for k, v in info.items() if k != "labels"}))
    with pytest.raises(ConfigError, match="not a valid run.json"):
        rd.read_info()


def test_run_predict_and_compare_need_only_the_plugins_the_config_uses(tmp_path, monkeypatch):
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps({**TINY, "train": {**TINY["train"], "epochs": 1}}))
    full = load_registry(allow="cellreg")
    run(config, tmp_path / "full", registry=full)
    # synthetic organism, additive baseline; the index op and mse loss are defaults of the ops and losses plugins
    monkeypatch.setenv(LOAD_ENV, "synthetic,baselines,ops,losses")
    only = load_registry()
    assert only.names("phenotypes") == ["synthetic", "synthetic_expression"]  # the synthetic package has both
    assert only.names("encoder") == ["gene_embedding", "none"]
    report = run(config, tmp_path / "only", registry=only)
    assert report["test"] == json.loads((tmp_path / "full" / "metrics.json").read_text())["test"]
    strains = tmp_path / "strains.tsv"
    names = ["G00003", "G00007", "G00011"]  # genes of the synthetic organism
    strains.write_text("genes\n" + "\n".join(f"{a}+{b}" for a, b in zip(names, names[1:])) + "\n")
    restricted = predict(tmp_path / "only", strains, tmp_path / "p_only.tsv", registry=only)
    unrestricted = predict(tmp_path / "full", strains, tmp_path / "p_full.tsv", registry=full)
    assert restricted.read_text() == unrestricted.read_text()
    assert len(restricted.read_text().splitlines()) == 3
    table = compare([tmp_path / "full", tmp_path / "only"], registry=only)
    assert "| gene_embedding + sum_mlp |" in table and "(index)" not in table  # the default op goes unsaid


class NoLoad(GraphSource):
    def __init__(self, config, context):
        pass


def test_missing_members_and_unimportable_factories_name_the_plugin(capsys, monkeypatch):
    from cellreg.commands.cli import main
    from cellreg.plugin_api import registry as registry_module

    registry = _registry_with(Plugin(kind="graph", name="noload", factory=NoLoad),
                              Plugin(kind="encoder", name="gone", factory="no_such_package.models:Encoder"))
    with pytest.raises(PluginError, match="graph plugin 'noload' .* does not meet the graph contract: it must "
                                          "implement load()"):
        registry.build("graph", "noload", None, Context())
    with pytest.raises(PluginError, match="encoder plugin 'gone' .*: cannot import its factory "
                                          "'no_such_package.models:Encoder': ModuleNotFoundError"):
        registry.build("encoder", "gone", None, Context())
    monkeypatch.setattr(registry_module, "_default", registry)
    assert main(["plugins"]) == 0
    assert "BROKEN  fake = fake_fake (cellreg-fake): encoder 'gone': factory 'no_such_package.models:Encoder'" \
        in capsys.readouterr().out


def test_optional_capabilities_follow_the_overridden_hooks():
    from cellreg_baselines.additive import GeneEmbeddingEncoder
    from cellreg_transformer.encoder import TransformerEncoder
    from cellreg_transformer.head import CrossAttentionHead

    assert TransformerEncoder.explain is not Encoder.explain and CrossAttentionHead.explain is not Encoder.explain
    graph = load_registry(allow="cellreg").build("graph", "synthetic", None, Context()).load()
    encoder = load_registry(allow="cellreg").build("encoder", "gene_embedding", None, Context(graph=graph))
    assert isinstance(encoder, GeneEmbeddingEncoder) and not encoder.explains and not encoder.can_add_genes
