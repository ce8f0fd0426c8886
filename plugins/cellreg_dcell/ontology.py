"""From an ontology's terms, edges and annotations to a filtered :class:`~cellreg.data.hierarchy.Hierarchy`.

DCell's filters, in its order: annotations with an excluded evidence code (IGI: inferred from
genetic interaction, the label itself) are left out; only the sub-ontology under ``root`` is kept;
annotations are propagated up the DAG (a term's genes are its own and its descendants'); terms
with fewer than ``min_genes`` genes are dropped, then every term whose genes equal a child's. A
dropped term's children are attached to its parents, and each kept term's direct genes become
its genes that none of its kept children has, so a term's gene set never changes by filtering.
Propagation and the filters are sparse-matrix algebra over the terms; reading the annotations into
that matrix is a load-time loop over them (it runs once per run, not per step).
"""

from __future__ import annotations

from typing import Sequence

import attrs
import numpy as np
import scipy.sparse as sp

from cellreg.data.hierarchy import Hierarchy
from cellreg.toolkit.text_tables import suggest


@attrs.frozen
class Filters:
    root: str | None = None
    min_genes: int = 6
    drop_redundant: bool = True
    exclude_evidence: tuple[str, ...] = ("IGI",)


@attrs.frozen
class Built:
    hierarchy: Hierarchy
    report: list[str]  # one line per step, for the summary


def _matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), shape=shape)
    m.data[:] = 1
    return m


def _closure(step: sp.csr_matrix, start: sp.csr_matrix) -> sp.csr_matrix:
    """``start + step start + step² start + ...`` as 0/1 (``step`` nilpotent: a DAG)."""
    reach = (start > 0).astype(np.int32)
    while True:
        grown = ((start + step @ reach) > 0).astype(np.int32)
        if (grown != reach).nnz == 0:
            return reach
        reach = grown


def contract(children: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """Edges among kept terms, a dropped term's children attached to its parents: [K, K] 0/1."""
    k, d = np.flatnonzero(keep), np.flatnonzero(~keep)
    through = _closure(children[d][:, d], children[d][:, k])  # dropped -> kept, via dropped terms
    return ((children[k][:, k] + children[k][:, d] @ through) > 0).astype(np.int32).tocsr()


def build(terms: dict[str, str], edges: Sequence[tuple[str, str]], annotations: Sequence[tuple[str, str, str]],
          genes: Sequence[str], filters: Filters) -> Built:
    """``edges`` are ``(child, parent)`` term ids; ``annotations`` ``(gene, term, evidence)``."""
    ids = list(terms)
    index = {t: i for i, t in enumerate(ids)}
    gene_index = {g: i for i, g in enumerate(genes)}
    report = []
    excluded = {e.upper() for e in filters.exclude_evidence}
    kept = [(g, t) for g, t, e in annotations if e.upper() not in excluded]
    lines = [f"annotations: {len(annotations):,} read"]
    if excluded:
        lines.append(f"{len(annotations) - len(kept):,} with evidence {'/'.join(sorted(excluded))} left out")
    unknown_terms = sorted({t for _, t in kept if t not in index})
    unknown_genes = sorted({g for g, _ in kept if g not in gene_index})
    if unknown_terms:
        lines.append(f"{len(unknown_terms):,} terms not in the ontology (e.g. {', '.join(unknown_terms[:3])})")
    if unknown_genes:
        lines.append(f"{len(unknown_genes):,} genes not in the vocabulary (e.g. {', '.join(unknown_genes[:3])})")
    report.append("; ".join(lines))
    pairs = np.array([(gene_index[g], index[t]) for g, t in kept if t in index and g in gene_index],
                     np.int64).reshape(-1, 2).T
    child = np.array([index[c] for c, _ in edges], np.int64)
    parent = np.array([index[p] for _, p in edges], np.int64)
    full = Hierarchy(tuple(ids), np.stack([parent, child]), pairs, len(genes))  # validates: acyclic
    t = len(ids)
    children = _matrix(parent, child, (t, t))
    keep = np.ones(t, bool)
    if filters.root is not None:
        if filters.root not in index:
            raise ValueError(f"root {filters.root!r} is not a term of the ontology{suggest(filters.root, ids)}")
        start = _matrix(np.array([index[filters.root]]), np.array([index[filters.root]]), (t, t))
        keep = np.asarray(_closure(children.T.tocsr(), start).sum(1)).ravel() > 0  # the root and its descendants
        report.append(f"root {filters.root}: {int(keep.sum()):,} of {t:,} terms")
    term_genes = full.term_genes().astype(np.int32)
    size = np.asarray(term_genes.sum(1)).ravel()
    small = keep & (size < filters.min_genes)
    keep &= ~small
    report.append(f"min_genes {filters.min_genes}: {int(small.sum()):,} terms dropped")
    if filters.drop_redundant:  # genes(child) is a subset of genes(parent): equal sizes mean equal sets
        both = keep[parent] & keep[child]
        redundant = np.zeros(t, bool)
        redundant[parent[both & (size[parent] == size[child])]] = True
        keep &= ~redundant
        report.append(f"redundant (a child has the same genes): {int(redundant.sum()):,} terms dropped")
    kept_ids = np.flatnonzero(keep)
    edges_kept = contract(children, keep).tocoo()
    genes_kept = term_genes[kept_ids]
    covered = ((_matrix(edges_kept.row, edges_kept.col, (len(kept_ids),) * 2) @ genes_kept) > 0).astype(np.int32)
    direct = (genes_kept - genes_kept.multiply(covered)).tocoo()
    titles = tuple(terms[ids[i]] for i in kept_ids)
    hierarchy = Hierarchy(tuple(ids[i] for i in kept_ids), np.stack([edges_kept.row, edges_kept.col]),
                          np.stack([direct.col, direct.row]), len(genes), titles=titles)
    return Built(hierarchy, report)
