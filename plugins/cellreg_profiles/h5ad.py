"""AnnData ``.h5ad`` files in the convention perturbation tools share (GEARS): ``obs["condition"]``
holds each cell's perturbed genes joined by ``+`` (``ctrl`` marks the reference, and pads singles:
``AHR+ctrl``), ``var["gene_name"]`` names the features. Read backed (the matrix stays on disk and
is summed ``chunk_cells`` cells at a time), so a file larger than memory still loads.

A strain's profile is the mean of its cells; the reference is the mean of the control cells; the
change is their difference, feature by feature, over measured (non-NaN) cells.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cellreg.data.profiles import Profiles, duplicate_names
from cellreg_profiles.aggregate import GroupMeans
from cellreg_profiles.configs import ProfilesConfig


def _anndata():
    try:
        import anndata
    except ImportError:
        raise ImportError("reading .h5ad files needs the anndata package: pip install 'cellreg[profiles]'") from None
    return anndata


def condition_genes(condition: str, separator: str, control: str) -> tuple[str, ...]:
    """``"AHR+ctrl"`` -> ``("AHR",)``; ``"ctrl"`` -> ``()`` (the reference)."""
    parts = (p.strip() for p in condition.split(separator))
    return tuple(p for p in parts if p and p != control)


def read_h5ad(path: Path, config: ProfilesConfig) -> Profiles:
    adata = _anndata().read_h5ad(path, backed="r")
    try:
        return _read(adata, path, config)
    finally:
        adata.file.close()


def _read(adata, path: Path, config: ProfilesConfig) -> Profiles:
    column = config.condition_column
    if column not in adata.obs.columns:
        raise ValueError(f"{path}: no obs column {column!r} (each cell's perturbed genes joined by "
                         f"{config.separator!r}, {config.control!r} for the reference); obs columns: "
                         f"{', '.join(map(str, adata.obs.columns)) or 'none'}")
    if config.feature_column:
        if config.feature_column not in adata.var.columns:
            raise ValueError(f"{path}: no var column {config.feature_column!r} naming the features; var columns: "
                             f"{', '.join(map(str, adata.var.columns)) or 'none'} (feature_column = \"\" uses "
                             "var_names)")
        features = adata.var[config.feature_column].astype(str).tolist()
        where = f"var column {config.feature_column!r}"
    else:
        features, where = [str(v) for v in adata.var_names], "var_names"
    dups = duplicate_names(features)
    if dups:
        raise ValueError(f"{path}: {where} names {len(dups)} feature(s) more than once, e.g. "
                         f"{', '.join(map(repr, dups[:5]))}")
    conditions, cells = np.unique(adata.obs[column].astype(str).to_numpy(), return_inverse=True)
    genes = [condition_genes(c, config.separator, config.control) for c in conditions]
    control = np.array([not g for g in genes])
    if not control.any():
        raise ValueError(f"{path}: obs column {column!r} has no {config.control!r} cells, so there is no "
                         "reference profile to take changes from")
    # every control spelling ("ctrl", "ctrl+ctrl") pools into group 0
    group_of = np.where(control, 0, np.cumsum(~control))
    acc = GroupMeans(int((~control).sum()) + 1, len(features))
    for start in range(0, adata.n_obs, config.chunk_cells):
        stop = min(start + config.chunk_cells, adata.n_obs)
        acc.add(adata.X[start:stop], group_of[cells[start:stop]])
    means = acc.means()
    reference = means[0]
    missing = np.flatnonzero(np.isnan(reference))
    if len(missing):
        raise ValueError(f"{path}: {len(missing)} feature(s) of {where} have no measured value in the "
                         f"{config.control!r} cells (the reference), e.g. "
                         f"{', '.join(repr(features[i]) for i in missing[:5])}")
    strains = [g for g in genes if g]
    return Profiles(strains, (means[1:] - reference).astype(np.float32), features, reference.astype(np.float32),
                    acc.nan_count)
