import copy

import attrs
import pytest

from cellreg import Plugin
from cellreg.config import ConfigError, apply_override, to_toml
from cellreg.plugin_api.run_config import load_config, parse_config
from cellreg.plugin_api.registry import load_registry
from conftest import TINY


def errors_of(raw, **kw):
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, source="run.toml", **kw)
    return exc.value.errors


def with_(path, value):
    raw = copy.deepcopy(TINY)
    apply_override(raw, f"{path}={value}")
    return raw


def test_tiny_config_parses_with_plugin_config_classes():
    config = parse_config(TINY)
    assert config.model.encoder.name == "gene_embedding"
    assert type(config.model.encoder.config).__name__ == "GeneEmbeddingConfig"
    assert config.model.encoder.config.dim == 16
    assert config.perturbation.name == "index"  # default filled in
    assert config.loss[0].weight == 1.0


def test_typo_key_names_path_and_suggests():
    assert errors_of(with_("train.epoch", "3")) == [
        "train: unknown key 'epoch' (did you mean 'epochs'?); valid keys: " + ", ".join(
            f.name for f in attrs.fields(type(parse_config(TINY).train)))
    ]


def test_typo_inside_a_plugin_table_names_the_plugin_path():
    errors = errors_of(with_("model.encoder.dimm", "8"))
    assert errors == ["model.encoder: unknown key 'dimm' (did you mean 'dim'?); valid keys: dim, features"]


def test_float_for_int_and_string_for_bool_are_rejected():
    assert errors_of(with_("train.epochs", "3.7")) == ["train.epochs: expected int, got float 3.7"]
    assert errors_of(with_("train.cpu", '"no"')) == ["train.cpu: expected bool, got str 'no'"]
    assert errors_of(with_("model.encoder.dim", "true")) == ["model.encoder.dim: expected int, got bool True"]
    assert errors_of(with_("train.lr", "inf")) == ["train.lr: expected a finite float, got inf"]
    assert errors_of(with_("train.weight_decay", "nan")) == ["train.weight_decay: expected a finite float, got nan"]


def test_validator_message_is_kept():
    errors = errors_of(with_("split.test_fraction", "1.5"))
    assert errors == ["split.test_fraction: 'test_fraction' must be < 1.0: 1.5"]


def test_unknown_plugin_name_lists_choices():
    from cellreg.plugin_api.registry import default_registry

    errors = errors_of(with_("model.head.name", '"sum-mpl"'))
    choices = default_registry().names("head")
    assert {"mean", "sum_mlp"} <= set(choices)
    assert errors == [f"model.head.name: unknown head plugin 'sum-mpl' (did you mean 'sum_mlp'?); choose one of: "
                      f"{', '.join(choices)}"]


def test_missing_section_and_every_error_reported_at_once():
    raw = copy.deepcopy(TINY)
    del raw["graph"]
    raw["train"]["epochs"] = "ten"
    raw["loss"][0]["name"] = "l1"
    errors = errors_of(raw)
    assert errors[0].startswith("graph: missing table [graph]; choose a graph plugin:")
    assert errors[1].startswith("loss[0].name: unknown loss plugin 'l1'; choose one of: ")
    raw["graph"] = TINY["graph"]
    raw["loss"] = TINY["loss"]
    assert errors_of(raw) == ["train.epochs: expected int, got str 'ten'"]


def test_bad_select_metric_is_explained():
    errors = errors_of(with_("train.select", '"val.interaction.auc"'))
    assert errors[0].startswith("train.select: 'select' must be 'val.loss' or 'val.<group>.<metric>'")


def test_config_errors_come_before_any_data_is_loaded(tmp_path):
    calls = []

    class Source:
        def __init__(self, config, context):
            calls.append("built")

        def load(self):
            calls.append("loaded")

    from conftest import FakeEntryPoint, plugin_module

    ep = FakeEntryPoint("spy", plugin_module("spy", Plugin(kind="graph", name="spy", factory=Source)))
    registry = load_registry([ep], allow=None)
    raw = copy.deepcopy(TINY)
    raw["graph"] = {"name": "spy"}
    raw["train"]["epochs"] = 3.7
    path = tmp_path / "bad.toml"
    import tomli_w

    path.write_text(tomli_w.dumps(raw))
    from cellreg.training.trainer import run

    with pytest.raises(ConfigError) as exc:
        run(path, tmp_path / "out", registry=registry)
    assert str(exc.value).startswith(f"{path}: invalid config:")
    assert calls == [] and not (tmp_path / "out").exists()


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[train]\nepochs = = 3\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value) and "line 2" in str(exc.value)


def test_overrides_are_parsed_as_toml_and_checked(tiny_config):
    config = load_config(tiny_config, ["train.lr=0.01", "model.encoder.dim=8", "name=other"])
    assert (config.train.lr, config.model.encoder.config.dim, config.name) == (0.01, 8, "other")
    with pytest.raises(ConfigError, match="train.epochs: expected int, got float 2.5"):
        load_config(tiny_config, ["train.epochs=2.5"])


def test_resolved_config_round_trips():
    import tomli

    config = parse_config(TINY)
    assert parse_config(tomli.loads(to_toml(config))) == config


def test_literal_values_are_checked_with_a_readable_message():
    assert errors_of(with_("train.scheduler", '"step"')) == [
        "train.scheduler: expected one of 'cosine', 'linear', 'constant'; got 'step'"
    ]


def test_a_string_where_a_list_belongs_is_an_error_not_its_letters():
    assert errors_of(with_("train.labels", '"fitness"')) == ["train.labels: expected a list of str, got str 'fitness'"]
    assert errors_of(with_("train.labels", '["fitness", 3]')) == ["train.labels[1]: expected str, got int 3"]
    assert parse_config(with_("train.labels", '["fitness"]')).train.labels == ["fitness"]


def test_a_value_where_a_table_belongs_names_the_key():
    assert errors_of(with_("train", '"fast"')) == ["train: expected a table, got str 'fast'"]
    assert errors_of(with_("split", "[1]")) == ["split: expected a table, got an array"]


def test_bad_loss_weight_is_reported_not_raised():
    raw = copy.deepcopy(TINY)
    raw["loss"] = [{"name": "mse", "weight": "abc"}, {"name": "mse", "weight": [1]}, {"name": "mse", "weight": 0.5}]
    assert errors_of(raw) == ["loss[0].weight: expected float, got str 'abc'",
                              "loss[1].weight: expected float, got an array [1]"]


def test_empty_loss_list_is_refused():
    raw = copy.deepcopy(TINY)
    raw["loss"] = []
    assert errors_of(raw) == ["loss: empty array: give at least one [[loss]] term (or leave 'loss' out for the "
                              "default, one mse term)"]
    del raw["loss"]
    assert [t.name for t in parse_config(raw).loss] == ["mse"]


def test_zero_val_fraction_is_refused():
    assert errors_of(with_("split.val_fraction", "0")) == ["split.val_fraction: 'val_fraction' must be > 0.0: 0.0"]
