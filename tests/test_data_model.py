import attrs
import numpy as np
import pytest
import torch

from cellreg import CellGraph, Perturbation, PhenotypeTable
from cellreg.data.standardize import LabelScaler


def small_graph():
    genes = ["a", "b", "c", "d"]
    return CellGraph.from_edges(genes, [
        ("physical", np.array([0, 1, 1, 2, 3]), np.array([1, 0, 2, 2, 0]), None, False),
        ("regulatory", np.array([0, 1, 0]), np.array([1, 0, 1]), np.array([0.5, 0.2, 0.9]), True),
    ])


def test_undirected_edges_are_canonical_and_deduplicated():
    g = small_graph()
    phys = g.relations["physical"]
    assert phys.edge_index.tolist() == [[0, 0, 1], [1, 3, 2]]  # a-b once, no c-c self-loop, d-a -> a-d
    assert phys.message_index().shape == (2, 6)
    reg = g.relations["regulatory"]
    assert reg.edge_index.tolist() == [[0, 1], [1, 0]]  # directed keeps both directions
    assert reg.weight.tolist() == pytest.approx([0.9, 0.2])  # duplicate a->b keeps its largest weight


def test_graph_is_immutable_and_hetero_view_shares_tensors():
    g = small_graph()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        g.genes = ("x",)
    data = g.to_hetero()
    assert data["gene"].num_nodes == 4
    assert data["gene", "physical", "gene"].edge_index.data_ptr() == g.relations["physical"].edge_index.data_ptr()
    assert g.index_of("c") == 2 and g.lookup(["d", "zz"]).tolist() == [3, -1]


def test_graph_rejects_bad_input():
    with pytest.raises(ValueError, match="duplicate name 'a'"):
        CellGraph.from_edges(["a", "a"], [])
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        CellGraph(("a", "b"), {"x": __import__("cellreg").Relation("x", torch.tensor([[0], [5]]), None, False)})


def test_summary_is_readable():
    text = small_graph().summary()
    assert text.splitlines()[0] == "CellGraph: 4 genes, 2 relations, 5 edges"
    assert "regulatory" in text and "directed" in text and "weighted" in text


def table():
    return PhenotypeTable.from_sets(
        [[0], [1, 2], [0, 2, 3]], np.array([[0.9, np.nan], [0.5, -0.1], [0.2, 0.05]]),
        ["fitness", "interaction"], ["a", "b", "c", "d"],
        kinds=[[0], [0, 2], [1, 0, 3]],
    )


def test_phenotype_table_save_load_round_trip_without_pickle(tmp_path):
    t = table()
    t.save(tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    u = PhenotypeTable.load(tmp_path / "t.npz")
    assert u.fingerprint() == t.fingerprint()
    assert u.label_names == ("fitness", "interaction") and u.gene_names == t.gene_names
    genes, kinds = u.strain(2)
    assert genes.tolist() == [0, 2, 3]
    assert [Perturbation(k) for k in kinds] == [Perturbation.KNOCKDOWN, Perturbation.DELETION, Perturbation.ADDITION]
    np.testing.assert_array_equal(u.labels, t.labels)


def test_select_and_fingerprint_sensitivity():
    t = table()
    s = t.select(np.array([2, 0]))
    assert s.strain(0)[0].tolist() == [0, 2, 3] and s.strain(1)[0].tolist() == [0]
    assert s.fingerprint() != t.fingerprint()
    assert t.fingerprint() == table().fingerprint()


def test_table_is_read_only_and_validated():
    t = table()
    with pytest.raises(ValueError):
        t.labels[0, 0] = 1.0
    with pytest.raises(ValueError, match="gene index outside the vocabulary"):
        PhenotypeTable.from_sets([[7]], np.zeros((1, 1)), ["y"], ["a"])
    with pytest.raises(ValueError, match="unknown perturbation type 'knockin'"):
        Perturbation.parse("knockin")


def test_ten_million_triples_fit_well_under_a_gigabyte():
    n = 10_000_000
    t = PhenotypeTable(np.arange(0, 3 * n + 1, 3), np.zeros(3 * n, np.int32), np.zeros(3 * n, np.int8),
                       np.zeros((n, 2), np.float32), ["fitness", "interaction"], ["g"])
    assert t.nbytes == 8 * (n + 1) + 4 * 3 * n + 3 * n + 4 * 2 * n
    assert t.nbytes < 0.35e9


def test_standardization_fits_train_rows_and_inverts_exactly():
    rng = np.random.default_rng(0)
    labels = rng.normal([2.0, -1.0], [3.0, 0.1], size=(500, 2))
    labels[::7, 1] = np.nan
    train = labels[:300]
    scaler = LabelScaler.fit(train)
    assert scaler.mean == pytest.approx(np.nanmean(train, 0), rel=1e-5)
    assert scaler.std == pytest.approx(np.nanstd(train, 0), rel=1e-5)
    z = scaler.transform(labels)
    np.testing.assert_allclose(scaler.inverse(z), labels, rtol=1e-6, atol=1e-6)
    zt = scaler.transform(torch.tensor(labels, dtype=torch.float32))
    np.testing.assert_allclose(scaler.inverse(zt).numpy(), labels, rtol=1e-5, atol=1e-5)


def test_standardization_survives_constant_and_empty_labels():
    labels = np.array([[1.0, np.nan], [1.0, np.nan]])
    scaler = LabelScaler.fit(labels)
    assert scaler.std.tolist() == [1.0, 1.0] and np.isfinite(scaler.transform(labels)[:, 0]).all()


def test_fingerprint_covers_other_node_types_and_their_relations():
    from torch_geometric.data import HeteroData

    def with_extra(stoich):
        extra = HeteroData()
        extra["reaction"].num_nodes = 2
        extra["gene", "rule", "reaction"].edge_index = torch.tensor([[0, 1], [0, 1]])
        extra["metabolite", "stoich", "reaction"].edge_index = torch.tensor([[0], [1]])
        extra["metabolite", "stoich", "reaction"].coefficient = torch.tensor([stoich])
        g = small_graph()
        return CellGraph(g.genes, g.relations, extra=extra)

    assert with_extra(1.0).fingerprint() == with_extra(1.0).fingerprint()
    assert with_extra(1.0).fingerprint() != with_extra(2.0).fingerprint() != small_graph().fingerprint()


def test_a_fingerprint_asked_from_two_threads_is_hashed_once(monkeypatch):
    import threading
    import time

    t = table()
    calls = []
    real = PhenotypeTable._content_hash

    def slow(self):
        calls.append(1)
        time.sleep(0.2)  # the second asker arrives while the first hashes
        return real(self)

    monkeypatch.setattr(PhenotypeTable, "_content_hash", slow)
    got = []
    workers = [threading.Thread(target=lambda: got.append(t.fingerprint())) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=10)
    assert len(calls) == 1 and got == [real(t)] * 2 and not t.fingerprint_pending


def test_a_table_hashed_on_a_thread_still_pickles():
    """Data-loader workers started by spawn receive the table by pickle."""
    import pickle

    t = table()
    t.hash_in_background()
    assert t.fingerprint() == pickle.loads(pickle.dumps(t)).fingerprint()


@pytest.mark.parametrize("pieces", [1, 3])  # genes marked on one thread; on three, each its own marks
def test_used_genes_and_measured_counts_equal_counting_by_hand(pieces, monkeypatch):
    from cellreg.toolkit import parallel_index

    monkeypatch.setattr(parallel_index, "MIN_SIZE", 1 if pieces > 1 else 1 << 20)
    monkeypatch.setattr(parallel_index, "_cores", lambda: pieces)
    rng = np.random.default_rng(11)
    sets = [list(rng.choice(40, rng.integers(1, 4), replace=False)) for _ in range(500)]
    labels = rng.normal(size=(500, 3))
    labels[rng.random((500, 3)) < 0.2] = np.nan
    t = PhenotypeTable.from_sets(sets, labels, ["a", "b", "c"], [f"g{i}" for i in range(60)])
    assert np.flatnonzero(t.used_genes()).tolist() == sorted({int(g) for s in sets for g in s})
    assert t.measured().tolist() == [sum(not np.isnan(v) for v in labels[:, j]) for j in range(3)]
    assert t.size_counts().tolist() == [sum(len(s) == k for s in sets) for k in range(4)]
    assert t.used_genes() is t.used_genes() and not t.measured().flags.writeable  # counted once, kept


def test_set_keys_are_computed_unless_handed_over_and_must_be_one_per_strain():
    from cellreg.data.replicates import exact_set_keys

    t = PhenotypeTable.from_sets([[0, 1], [2], [1, 0]], np.zeros((3, 1)), ["y"], ["a", "b", "c"])
    computed = t.set_keys()
    np.testing.assert_array_equal(computed, exact_set_keys(t.genes, t.kinds, t.set_sizes, [], 3))
    assert computed[0] == computed[2] != computed[1]  # one set, any order
    given = computed.copy()
    assert t.known_set_keys(given).set_keys() is given  # handed over: not computed again
    with pytest.raises(ValueError, match="one per strain"):
        t.known_set_keys(np.zeros(2, np.int64))
