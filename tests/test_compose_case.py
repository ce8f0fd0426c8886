"""Composing graphs keeps genes whose names differ only by case apart where a source (or the given
vocabulary) spells both, and still meets another source's other spelling of one gene."""

import numpy as np
import pytest

from cellreg.data.compose import Part, compose
from cellreg.data.graph import CellGraph


def graph(genes, *edges):
    """``edges``: (relation, gene, gene) by name."""
    by = {}
    for rel, a, b in edges:
        by.setdefault(rel, ([], []))
        by[rel][0].append(genes.index(a))
        by[rel][1].append(genes.index(b))
    return CellGraph.from_edges(genes, [(r, np.array(s), np.array(d), None, False) for r, (s, d) in by.items()])



def _edges(g: CellGraph, relation: str) -> set[tuple[str, str]]:
    ei = g.relations[relation].edge_index.numpy()
    return {tuple(sorted((g.genes[a], g.genes[b]))) for a, b in ei.T}


def test_two_genes_in_one_case_fold_stay_two_genes():
    fly = Part("fly", graph(["Dl", "dl", "N"], ("notch", "Dl", "N"), ("notch", "dl", "N")))
    other = Part("other", graph(["n", "X"], ("other", "n", "X")))
    g = compose([fly, other])
    assert g.genes == ("Dl", "dl", "N", "X")  # 'n' is N (one gene of that spelling), Dl and dl stay apart
    assert _edges(g, "notch") == {("Dl", "N"), ("N", "dl")}
    assert _edges(g, "other") == {("N", "X")}


def test_a_name_matching_several_genes_by_case_is_an_error_or_unknown():
    fly = Part("fly", graph(["Dl", "dl"], ("a", "Dl", "dl")))
    with pytest.raises(ValueError, match=r"other: gene 'DL' matches 'Dl', 'dl' of earlier sources by case alone"):
        compose([fly, Part("other", graph(["DL", "Q"], ("b", "DL", "Q")))])
    # with a given vocabulary, 'DL' is no gene of it (it would be a guess between two)
    with pytest.raises(ValueError, match=r"1 of its 2 genes are not in"):
        compose([Part("other", graph(["DL", "Q"], ("b", "DL", "Q")))], ["Dl", "dl", "Q"])
    g = compose([Part("other", graph(["q", "dl"], ("b", "dl", "q")))], ["Dl", "dl", "Q"])
    assert _edges(g, "b") == {("Q", "dl")}
