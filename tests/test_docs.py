"""Every config key of the core and of the bundled plugins is documented (datasette-style meta-test)."""

from pathlib import Path

import attrs
import pytest

from cellreg.config import RunConfig, TrainConfig
from cellreg.plugin_api.registry import load_registry
from cellreg.data.splits import SplitConfig

DOCS = "\n".join(p.read_text() for p in (Path(__file__).resolve().parents[1] / "docs").glob("*.md"))


def config_classes():
    yield from (RunConfig, TrainConfig, SplitConfig)
    for entry in load_registry(allow="cellreg").entries():
        yield entry.plugin.config


def all_fields(cls, seen=None):
    seen = seen if seen is not None else set()
    if cls in seen or not attrs.has(cls):
        return
    seen.add(cls)
    for field in attrs.fields(cls):
        yield cls, field.name
        for sub in getattr(field.type, "__args__", ()) + (field.type,):
            if isinstance(sub, type):
                yield from all_fields(sub, seen)


@pytest.mark.parametrize("cls,key", sorted({(c.__name__, k) for cls in config_classes() for c, k in all_fields(cls)}))
def test_config_key_is_documented(cls, key):
    forms = (f"`{key}`", f"`[{key}]`", f"`[{key}.", f"`[[{key}]]`")  # a key, or a section heading
    assert any(form in DOCS for form in forms), f"{cls}.{key} is not documented in docs/"


def test_every_bundled_plugin_is_documented():
    for entry in load_registry(allow="cellreg").entries():
        assert f"`{entry.plugin.name}`" in DOCS, entry.plugin.name
