"""The Optuna study behind a sweep: where it is stored, how trials are sampled and pruned, and the
check that a resumed (or shared) study belongs to the same config and space.

Storage: a path is an Optuna journal file (appends under a file lock: safe for several processes on
one machine or on a shared file system); a URL (``sqlite:///...``, ``postgresql://...``) is an RDB
database, for workers that share no file system. Optuna is the ``sweep`` extra.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cellreg.config import ConfigError

INSTALL = "pip install 'cellreg[sweep]'"


def require_optuna():
    """The optuna module, or an error naming the extra that installs it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("cellreg sweep", [f"needs Optuna, which is not installed: {INSTALL}"]) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # cellreg prints one line per trial itself
    return optuna


def derive_seed(seed: int, number: int) -> int:
    """Trial ``number``'s seed: the first 31 bits of sha256("<seed>/<number>"), the same on every machine."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{number}".encode()).digest()[:4], "big") >> 1


def storage(where: str):
    """A journal file (a path) or an RDB database (a URL)."""
    optuna = require_optuna()
    if "://" in where:
        return optuna.storages.RDBStorage(where)
    from optuna.storages.journal import JournalFileBackend

    path = Path(where)
    path.parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def sampler(kind: str, seed: int):
    """A fresh sampler for one trial, seeded from the trial's number: a trial's parameters then depend
    on its number and the trials before it, not on which worker or which invocation drew it."""
    optuna = require_optuna()
    return optuna.samplers.TPESampler(seed=seed) if kind == "tpe" else optuna.samplers.RandomSampler(seed=seed)


def pruner(kind: str, startup: int, epochs: int):
    """``median``: stop a trial whose metric at an epoch is worse than the median of earlier trials'
    at that epoch, once ``startup`` trials have finished; ``hyperband``: successive halving over
    1..epochs; ``off``: every trial runs its epochs (``train.patience`` still applies)."""
    optuna = require_optuna()
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=0)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1))
    return optuna.pruners.NopPruner()


def open_study(where: str, name: str, direction: str, identity: dict[str, str], pruner_, sampler_):
    """Create the study, or load it when it exists and was made from the same config and space."""
    optuna = require_optuna()
    study = optuna.create_study(storage=storage(where), study_name=name, direction=direction,
                                load_if_exists=True, pruner=pruner_, sampler=sampler_)
    stored = study.user_attrs.get("cellreg")
    if stored is None:  # one attribute, written at once: a worker never sees half of it
        study.set_user_attr("cellreg", identity)
        return study
    differ = [key for key, value in identity.items() if stored.get(key) != value]
    if differ:
        raise ConfigError(where, [f"study {name!r} was made from another {' and '.join(differ)}; resume it with "
                                  "the same ones, or give another --study or --out (nothing was changed)"])
    if study.direction.name.lower() != direction:
        raise ConfigError(where, [f"study {name!r} {study.direction.name.lower()}s its metric, not {direction}"])
    return study
