import numpy as np
import pytest

from cellreg_synthetic.graph import SyntheticGraphConfig, build_graph
from cellreg_synthetic.phenotypes import SyntheticPhenotypesConfig, latent_positions, simulate, union_adjacency


@pytest.fixture(scope="module")
def organism():
    graph = build_graph(SyntheticGraphConfig(genes=800), seed=0)
    return graph, simulate(graph, SyntheticPhenotypesConfig(doubles=8000, triples=2000), seed=0)


def test_deterministic_for_a_seed(organism):
    graph, table = organism
    again = build_graph(SyntheticGraphConfig(genes=800), seed=0)
    assert again.fingerprint() == graph.fingerprint()
    assert simulate(again, SyntheticPhenotypesConfig(doubles=8000, triples=2000), seed=0).fingerprint() == table.fingerprint()
    assert build_graph(SyntheticGraphConfig(genes=800), seed=1).fingerprint() != graph.fingerprint()


def test_edge_counts_and_heavy_tailed_degrees(organism):
    graph, _ = organism
    assert graph.relations["physical"].num_edges == 6 * 800 // 2
    assert graph.relations["regulatory"].num_edges == 3 * 800  # directed: mean out-degree
    degree = np.bincount(graph.relations["coexpression"].message_index()[0].numpy(), minlength=800)
    assert degree.max() > 5 * np.median(degree)


def test_requested_strains_and_missing_interactions(organism):
    _, table = organism
    sizes = np.bincount(table.set_sizes)
    assert sizes[1] == 800 and sizes[2] >= 0.95 * 8000 and sizes[3] == 2000
    singles = table.set_sizes == 1
    assert np.isnan(table.labels[singles, 1]).all() and not np.isnan(table.labels[~singles]).any()


def test_interactions_concentrate_among_graph_close_genes(organism):
    graph, _ = organism
    table = simulate(graph, SyntheticPhenotypesConfig(doubles=8000, triples=0, noise=0.0), seed=0)
    adj = union_adjacency(graph)
    pairs = table.set_sizes == 2
    sub = table.select(np.flatnonzero(pairs))
    a, b = sub.genes[0::2], sub.genes[1::2]
    neighbours = np.asarray(adj[a, b]).ravel() > 0
    eps = np.abs(sub.labels[:, 1])
    assert eps[neighbours].mean() > 3 * eps[~neighbours].mean()
    assert (eps[~neighbours] == 0).mean() > 0.5  # most distant pairs do not interact at all


def test_latent_positions_are_smooth_over_the_graph(organism):
    graph, _ = organism
    adj = union_adjacency(graph)
    z = latent_positions(adj, 16, 3, np.random.default_rng(0))
    rows, cols = adj.nonzero()
    neighbour_sim = np.einsum("nd,nd->n", z[rows], z[cols]).mean()
    rng = np.random.default_rng(1)
    i, j = rng.integers(0, 800, (2, 5000))
    assert neighbour_sim > 0.3 > np.einsum("nd,nd->n", z[i], z[j]).mean() + 0.25


def test_yeast_preset_reaches_yeast_scale():
    cfg = SyntheticGraphConfig(preset="yeast")
    graph = build_graph(cfg, seed=0)
    assert graph.num_genes == 6607 and len(graph.relations) == 9
    assert 2.3e6 < graph.num_edges < 2.5e6


def test_small_screen_preset_perturbs_a_few_connected_genes_of_many():
    graph = build_graph(SyntheticGraphConfig(genes=1500), seed=0)
    table = simulate(graph, SyntheticPhenotypesConfig(preset="small_screen"), seed=0)
    sizes = np.diff(table.offsets)
    screened = np.unique(table.genes)
    assert table.num_strains == 9000 and (sizes == 2).all() and len(screened) == 180
    assert len({tuple(table.strain(s)[0]) for s in range(table.num_strains)}) == 9000  # distinct pairs
    adj = union_adjacency(graph)[screened][:, screened]
    random_draw = union_adjacency(graph).nnz / 1500 * 179 / 1499  # expected links per gene among 180 random genes
    assert adj.nnz / 180 > 2 * random_draw  # a screen of related genes
    again = simulate(graph, SyntheticPhenotypesConfig(preset="small_screen"), seed=0)
    assert again.fingerprint() == table.fingerprint()


def test_gene_effect_adds_a_per_gene_propensity_to_interactions():
    """With the planted interaction off and no noise, epsilon is exactly r_i + r_j: any two pairs of
    pairs over the same four genes sum alike (eps_ij + eps_kl = eps_il + eps_kj)."""
    graph = build_graph(SyntheticGraphConfig(genes=300), seed=0)
    config = SyntheticPhenotypesConfig(singles=False, doubles=20000, triples=0, local_fraction=0.0,
                                       interaction_scale=0.0, noise=0.0, gene_effect=0.01)
    table = simulate(graph, config, seed=0)
    eps = {tuple(sorted(table.strain(s)[0])): table.labels[s, 1] for s in range(table.num_strains)}
    checked = 0
    for (i, j), e_ij in list(eps.items())[:3000]:
        for (k, l) in [(a, b) for a, b in list(eps)[:200] if len({a, b, i, j}) == 4]:
            il, kj = tuple(sorted((i, l))), tuple(sorted((k, j)))
            if il in eps and kj in eps:
                assert e_ij + eps[(k, l)] == pytest.approx(eps[il] + eps[kj], abs=1e-6)
                checked += 1
    assert checked > 100 and np.std(list(eps.values())) > 0.01
