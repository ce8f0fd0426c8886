"""Shared fixtures: fake plugin entry points, a tiny run config."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest


class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint with a distribution attached."""

    def __init__(self, name: str, module: types.ModuleType | None, dist: str = "cellreg-fake",
                 version: str = "1.2.3", error: BaseException | None = None) -> None:
        self.name, self.value = name, f"fake_{name}"
        self.dist = SimpleNamespace(metadata={"Name": dist}, version=version)
        self._module, self._error = module, error

    def load(self):
        if self._error is not None:
            raise self._error
        return self._module


def plugin_module(name: str, *records) -> types.ModuleType:
    """A module whose hook returns the given Plugin records."""
    from cellreg import hookimpl

    module = types.ModuleType(f"fake_{name}")

    @hookimpl
    def cellreg_plugins():
        return list(records)

    module.cellreg_plugins = cellreg_plugins
    sys.modules[module.__name__] = module
    return module


TINY = {
    "name": "tiny",
    "seed": 0,
    "graph": {"name": "synthetic", "genes": 200},
    "phenotypes": {"name": "synthetic", "doubles": 1500, "triples": 400},
    "split": {"kind": "gene_held_out", "val_fraction": 0.15, "test_fraction": 0.15},
    "model": {"encoder": {"name": "gene_embedding", "dim": 16}, "head": {"name": "sum_mlp", "hidden": 32}},
    "loss": [{"name": "mse", "weight": 1.0}],
    "train": {"epochs": 3, "batch_size": 128, "lr": 0.003, "progress": False,
              "select": "val.interaction.pearson"},
}


@pytest.fixture
def tiny_config(tmp_path):
    """Write the tiny config to a file and return its path."""
    import tomli_w

    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(TINY))
    return path
