import numpy as np
import pytest

from cellreg import PhenotypeTable
from cellreg.splits import SplitConfig, make_split


def random_table(n_strains=3000, n_genes=200, seed=0):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 4, n_strains)
    sets = [rng.choice(n_genes, size=k, replace=False) for k in sizes]
    return PhenotypeTable.from_sets(sets, rng.normal(size=(n_strains, 1)), ["y"], [f"g{i}" for i in range(n_genes)])


@pytest.mark.parametrize("kind", ["random", "gene_held_out"])
def test_split_is_a_deterministic_partition(kind):
    t = random_table()
    cfg = SplitConfig(kind=kind, val_fraction=0.1, test_fraction=0.2, seed=3)
    a, b = make_split(t, cfg), make_split(t, cfg)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    everything = np.concatenate([a.train, a.val, a.test])
    assert np.array_equal(np.sort(everything), np.arange(len(t)))
    other = make_split(t, SplitConfig(kind=kind, val_fraction=0.1, test_fraction=0.2, seed=4))
    assert not np.array_equal(a.test, other.test)


def test_random_split_fractions():
    t = random_table()
    s = make_split(t, SplitConfig(kind="random", val_fraction=0.1, test_fraction=0.2))
    assert s.sizes() == {"train": 2100, "val": 300, "test": 600}


def test_gene_held_out_every_test_strain_has_an_unseen_gene():
    t = random_table()
    s = make_split(t, SplitConfig(kind="gene_held_out", val_fraction=0.1, test_fraction=0.2, seed=1))
    train_genes = set(t.select(s.train).genes.tolist())
    for part in (s.test, s.val):
        sub = t.select(part)
        unseen = [any(g not in train_genes for g in sub.strain(i)[0]) for i in range(len(sub))]
        assert all(unseen)
    assert 0.2 * len(t) <= len(s.test) <= 0.3 * len(t)
    assert len(s.val) >= 0.1 * len(t)


def test_cache_is_keyed_by_data_and_settings_not_the_seed(tmp_path):
    cfg = SplitConfig(kind="gene_held_out", seed=0, cache_dir=str(tmp_path))
    a_table, b_table = random_table(seed=0), random_table(seed=1)
    a = make_split(a_table, cfg)
    b = make_split(b_table, cfg)  # same seed and settings, other data: must not reuse a's cache
    assert a.key != b.key
    assert len(list(tmp_path.glob("split-*.npz"))) == 2
    np.testing.assert_array_equal(b.test, make_split(b_table, SplitConfig(kind="gene_held_out", seed=0)).test)
    c = make_split(a_table, SplitConfig(kind="gene_held_out", seed=0, test_fraction=0.2, cache_dir=str(tmp_path)))
    assert c.key != a.key


def test_cache_hit_returns_the_stored_split(tmp_path):
    t = random_table()
    cfg = SplitConfig(kind="random", seed=0, cache_dir=str(tmp_path))
    first = make_split(t, cfg)
    (path,) = tmp_path.glob("split-*.npz")
    np.savez(path, train=first.train[:5], val=first.val, test=first.test)  # tamper: proves the cache is read
    assert len(make_split(t, cfg).train) == 5
