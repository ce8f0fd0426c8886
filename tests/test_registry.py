import json
import subprocess
import sys

import pytest

from cellreg import Plugin
from cellreg.plugin_api.registry import PluginError, load_registry
from conftest import FakeEntryPoint, plugin_module


def _encoder(name="enc"):
    return Plugin(kind="encoder", name=name, factory=object, description="fake")


def test_bundled_plugins_come_through_the_entry_point_group():
    registry = load_registry(allow="cellreg")
    assert registry.broken == []
    found = {(r.plugin.kind, r.plugin.name): r.source for r in registry.entries()}
    for key in [("graph", "synthetic"), ("phenotypes", "synthetic"), ("perturbation", "index"),
                ("encoder", "gene_embedding"), ("head", "sum_mlp"), ("head", "mean"), ("loss", "mse")]:
        assert found[key].distribution == "cellreg" and found[key].bundled


def test_duplicate_names_fail_naming_both_providers():
    a = FakeEntryPoint("one", plugin_module("one", _encoder("My-Encoder")), dist="dist-a")
    b = FakeEntryPoint("two", plugin_module("two", _encoder("my_encoder")), dist="dist-b")
    registry = load_registry([a, b], allow=None)  # the clash breaks only what names it
    with pytest.raises(PluginError) as exc:
        registry.get("encoder", "my_encoder")
    assert str(exc.value).startswith(
        "duplicate encoder plugin 'My-Encoder': provided by dist-a (one = fake_one) "
        "and by dist-b (two = fake_two); uninstall one of the distributions, or load only the ones you want "
        "with CELLREG_LOAD_PLUGINS="
    )


def test_unknown_name_lists_choices_and_resolution_is_forgiving():
    ep = FakeEntryPoint("m", plugin_module("m", _encoder("gene_embed"), _encoder("Transformer-XL")))
    registry = load_registry([ep], allow=None)
    assert registry.get("encoder", "GENE-EMBED").name == "gene_embed"
    assert registry.get("encoder", "transformer_xl").name == "Transformer-XL"
    with pytest.raises(PluginError) as exc:
        registry.get("encoder", "gnn")
    assert str(exc.value) == "unknown encoder plugin 'gnn'; choose one of: Transformer-XL, gene_embed"


def test_broken_import_is_reported_and_others_still_load():
    good = FakeEntryPoint("good", plugin_module("good", _encoder("fine")))
    bad = FakeEntryPoint("bad", None, error=ImportError("No module named 'torch_scatter'"))
    registry = load_registry([bad, good], allow=None)
    assert registry.get("encoder", "fine").name == "fine"
    assert len(registry.broken) == 1
    assert registry.broken[0].source.entry_point == "bad = fake_bad"
    assert registry.broken[0].error == "ImportError: No module named 'torch_scatter'"


def test_hook_that_raises_or_returns_junk_is_reported():
    from cellreg import hookimpl
    import types

    raising = types.ModuleType("fake_raising")

    @hookimpl
    def cellreg_plugins():
        raise RuntimeError("boom")

    raising.cellreg_plugins = cellreg_plugins
    junk = plugin_module("junk", "not a plugin")
    empty = types.ModuleType("fake_empty")
    registry = load_registry([FakeEntryPoint("r", raising), FakeEntryPoint("j", junk),
                              FakeEntryPoint("e", empty)], allow=None)
    errors = {b.source.entry_point: b.error for b in registry.broken}
    assert errors == {
        "r = fake_r": "RuntimeError: boom",
        "j = fake_j": "TypeError: cellreg_plugins returned str, expected cellreg.Plugin",
        "e = fake_e": "TypeError: module defines no @hookimpl cellreg_plugins()",
    }


def test_environment_variable_restricts_external_plugins(monkeypatch):
    eps = [FakeEntryPoint("alpha", plugin_module("alpha", _encoder("a")), dist="cellreg-alpha"),
           FakeEntryPoint("beta", plugin_module("beta", _encoder("b")), dist="cellreg-beta")]
    monkeypatch.setenv("CELLREG_LOAD_PLUGINS", "cellreg-alpha")
    assert load_registry(eps).names("encoder") == ["a"]
    monkeypatch.setenv("CELLREG_LOAD_PLUGINS", "")
    assert load_registry(eps).names("encoder") == []
    monkeypatch.delenv("CELLREG_LOAD_PLUGINS")
    assert load_registry(eps).names("encoder") == ["a", "b"]


def test_plugin_record_rejects_unknown_kind():
    with pytest.raises(ValueError, match="'kind' must be in"):
        Plugin(kind="model", name="x", factory=object)


def test_plugins_command_json_lists_bundled_plugins():
    out = subprocess.run([sys.executable, "-m", "cellreg.commands.cli", "plugins", "--json"],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    rows = {(p["kind"], p["name"]): p for p in data["plugins"]}
    assert rows[("encoder", "gene_embedding")]["distribution"] == "cellreg"
    assert rows[("encoder", "gene_embedding")]["version"] == "0.1.0"
    assert rows[("encoder", "gene_embedding")]["description"]
    assert data["broken"] == []


def test_a_reader_that_stops_reading_ends_the_program_quietly():
    """`cellreg plugins | head -1`: the pipe's reader is gone before the program writes; it ends
    with status 1 and says nothing, rather than "error: [Errno 32] Broken pipe" or a traceback."""
    import os

    read, write = os.pipe()
    os.close(read)  # every write to the pipe now fails
    try:
        done = subprocess.run([sys.executable, "-m", "cellreg.commands.cli", "plugins"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 1 and done.stderr == ""
