"""AnnData ``.h5ad`` profiles in the GEARS convention: ``obs["condition"]`` holds each cell's genes
joined by ``+`` (``ctrl`` pads singles, ``AHR+ctrl``, and alone marks the reference), ``var["gene_name"]``
names the features (else ``var_names``). Each condition's profile is the mean of its cells, feature by
feature (NaN cells skipped), stored as rows of the phenotype group (``--phenotype``, default
``expression``) with the feature named and ``cells`` counted; the reference is the strain with no
genes. Read backed, a chunk of cells at a time. Needs ``anndata`` (``pip install 'cellreg[profiles]'``)."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa

from cellreg.data.label_groups import GroupKind
from cellreg.store.formats.base import Format, row_table
from cellreg.store.rows import KIND_NAMES, Part, Phenotype, check_name, strains_from_sets

CHUNK = 20_000  # cells per read


def _anndata():
    try:
        import anndata
    except ImportError:
        raise ValueError("importing .h5ad files needs the anndata package: pip install 'cellreg[profiles]'") from None
    return anndata


class H5ad(Format):

    def check(self) -> None:
        if not self.path.is_file():
            raise ValueError(f"{self.path}: no such file")
        _anndata()

    def parts(self) -> Iterator[Part]:
        import scipy.sparse as sp

        name = check_name("--phenotype", self.options.phenotype or "expression")
        adata = _anndata().read_h5ad(self.path, backed="r")
        try:
            column = self.options.condition_column
            if column not in adata.obs.columns:
                raise ValueError(f"{self.path}: not an h5ad file of perturbation profiles: missing obs column "
                                 f"{column!r}; obs columns: {', '.join(map(str, adata.obs.columns)) or '(no columns)'}")
            features = adata.var["gene_name"].astype(str).tolist() if "gene_name" in adata.var.columns \
                else [str(v) for v in adata.var_names]
            conditions, cells = np.unique(adata.obs[column].astype(str).to_numpy(), return_inverse=True)
            sums = np.zeros((len(conditions), len(features)))
            counts = np.zeros((len(conditions), len(features)))
            for start in range(0, adata.n_obs, CHUNK):
                stop = min(start + CHUNK, adata.n_obs)
                x = adata.X[start:stop]
                x = x.toarray() if sp.issparse(x) else np.asarray(x)
                groups = cells[start:stop]
                hot = sp.csr_matrix((np.ones(len(groups)), (groups, np.arange(len(groups)))),
                                    shape=(len(conditions), len(groups)))
                seen = ~np.isnan(x)
                sums += hot @ np.where(seen, x, 0.0)
                counts += hot @ seen.astype(np.float64)
        finally:
            adata.file.close()
        control = self.options.control
        genes = [tuple(g for g in (p.strip() for p in c.split("+")) if g and g != control) for c in conditions]
        vocab = sorted({g for s in genes for g in s})
        where = {g: i for i, g in enumerate(vocab)}
        sizes = np.array([len(s) for s in genes], np.int64)  # per condition (hundreds), not per cell
        codes = np.array([where[g] for s in genes for g in s], np.int64)
        # long form: condition-major, one row per (condition, feature) measured in at least one cell
        measured = counts > 0
        cond, feat = np.nonzero(measured)
        set_offsets = np.concatenate([[0], np.cumsum(sizes)])
        row_sizes = sizes[cond]
        offsets = np.concatenate([[0], np.cumsum(row_sizes)])
        entry = np.repeat(set_offsets[:-1][cond], row_sizes) + (np.arange(int(offsets[-1])) -
                                                               np.repeat(offsets[:-1], row_sizes))
        kinds = np.full(len(entry), KIND_NAMES.index(self.options.kind), np.int8)
        strains = strains_from_sets(offsets, codes[entry], vocab, kinds)
        value = pa.array(sums[cond, feat] / counts[cond, feat])
        feature = pa.DictionaryArray.from_arrays(pa.array(feat.astype(np.int32)), pa.array(features, pa.string()))
        phenotype = Phenotype(name, shape=GroupKind.PROFILE.value, statistics=("cells",),
                              description=f"mean profile of the cells of each {column!r} value")
        yield self.with_constants(Part(phenotype, row_table(strains, {}, value, {"cells": pa.array(counts[cond, feat])},
                                                            feature=feature)))
