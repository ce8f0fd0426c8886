"""Run configs: the TOML schema, its strict parsing, and the error every bad config raises."""

from cellreg.config.errors import ConfigError, DataError
from cellreg.config.schema import (
    PLUGIN_SECTIONS, LossTerm, ModelConfig, PluginCatalog, PluginChoice, RunConfig, TrainConfig, apply_override,
    make_converter, read_toml, structure, to_toml,
)
from cellreg.config.split_config import SplitConfig

__all__ = [
    "PLUGIN_SECTIONS", "ConfigError", "DataError", "LossTerm", "ModelConfig", "PluginChoice", "RunConfig",
    "SplitConfig", "TrainConfig", "apply_override", "make_converter", "read_toml", "structure", "to_toml",
    "PluginCatalog",
]
