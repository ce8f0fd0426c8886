"""The registry's build-time check: does an object meet its plugin kind's contract?

The data-source contracts import no torch; the model parts' are imported only to check a model part.
"""

from __future__ import annotations

from cellreg.plugin_api import sources

_REQUIRED_METHODS = {"graph": ("load",), "features": ("load",), "phenotypes": ("load",), "perturbation": ("collate",),
                     "encoder": ("forward",), "head": ("forward",), "loss": ("forward",),
                     "environment": ("forward",)}


def base_class(kind: str) -> type:
    """The class every object of ``kind`` subclasses."""
    if kind == "graph":
        return sources.GraphSource
    if kind == "phenotypes":
        return sources.PhenotypeSource
    if kind == "features":
        return sources.FeatureSource
    from cellreg.plugin_api import contracts

    return {"perturbation": contracts.PerturbationOp, "encoder": contracts.Encoder,
            "head": contracts.PerturbationHead, "loss": contracts.Loss,
            "environment": contracts.EnvironmentEncoder}[kind]


def contract_problems(kind: str, obj: object) -> list[str]:
    """What ``obj`` lacks to be a ``kind`` plugin object; empty when it satisfies the contract."""
    base = base_class(kind)
    if not isinstance(obj, base):
        return [f"subclass cellreg.{base.__name__} (got {type(obj).__module__}.{type(obj).__qualname__})"]
    problems = [f"implement {name}()" for name in _REQUIRED_METHODS[kind]
                if getattr(type(obj), name) is getattr(base, name)]
    if kind in ("encoder", "environment") and not isinstance(getattr(obj, "dim", None), int):
        problems.append("set dim, the int width of its " + ("states" if kind == "encoder" else "output"))
    return problems
