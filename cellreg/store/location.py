"""Where the store lives: ``--store``, else ``$CELLREG_STORE``, else a folder under the user's data
directory (platformdirs), so every command and run config finds the same store without a path."""

from __future__ import annotations

import os
from pathlib import Path

STORE_ENV = "CELLREG_STORE"


def store_root(option: str | os.PathLike | None = None) -> Path:
    if option:
        return Path(option).expanduser()
    env = os.environ.get(STORE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("cellreg", appauthor=False)) / "store"
