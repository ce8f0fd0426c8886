"""The one error a config that cannot run raises: every problem, each with its key path."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config that cannot run; ``errors`` holds one line per problem."""

    what = "invalid config"

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: {self.what}:\n" + "\n".join(f"  - {e}" for e in errors))


class DataError(ConfigError):
    """Data a valid config points at, but that cannot be trained on or scored (no strains, a label
    never measured in training, a file of blank rows)."""

    what = "unusable data"
