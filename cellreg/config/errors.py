"""The one error a config that cannot run raises: every problem, each with its key path."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config that cannot run; ``errors`` holds one line per problem."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: invalid config:\n" + "\n".join(f"  - {e}" for e in errors))
