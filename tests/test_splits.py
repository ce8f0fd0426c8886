import os
import warnings

import numpy as np
import pytest

from cellreg import PhenotypeTable
from cellreg.data.splits import SplitConfig, make_split


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
    t = random_table(n_genes=2000)  # no set repeats
    s = make_split(t, SplitConfig(kind="random", val_fraction=0.1, test_fraction=0.2))
    assert s.sizes() == {"train": 2100, "val": 300, "test": 600}


def test_random_split_keeps_repeated_sets_together():
    """Replicate rows and a pair listed as A+B and B+A must not sit in training and test at once."""
    base = [[i, i + 1] for i in range(0, 600, 2)]
    sets = base + [s[::-1] for s in base[:100]] + base[:100] + [[7], [7]]
    t = PhenotypeTable.from_sets(sets, np.zeros((len(sets), 1)), ["y"], [f"g{i}" for i in range(601)])
    s = make_split(t, SplitConfig(kind="random", val_fraction=0.1, test_fraction=0.2))
    side = {}
    for part in ("train", "val", "test"):
        for r in getattr(s, part):
            side.setdefault(frozenset(t.strain(r)[0].tolist()), set()).add(part)
    assert all(len(parts) == 1 for parts in side.values())
    assert abs(len(s.test) - 0.2 * len(t)) <= 3 and abs(len(s.val) - 0.1 * len(t)) <= 3


def _sides(table, split) -> dict:
    """Each strain's perturbation set (genes and kinds) -> the parts its strains went to."""
    out: dict = {}
    for part in ("train", "val", "test"):
        for r in getattr(split, part):
            genes, kinds = table.strain(r)
            out.setdefault(frozenset(zip(genes.tolist(), kinds.tolist())), set()).add(part)
    return out


def test_a_large_random_split_sides_sets_by_hash_alone(monkeypatch):
    """From HASHED_MIN_STRAINS strains: replicates (A+B, B+A) share a side, the parts hold their
    fractions to binomial noise, and a set's side does not move when rows are shuffled or added."""
    from cellreg.data import splits

    monkeypatch.setattr(splits, "HASHED_MIN_STRAINS", 1)
    rng = np.random.default_rng(7)
    pairs = [list(rng.choice(300, 2, replace=False)) for _ in range(20000)]
    sets = pairs + [p[::-1] for p in pairs[:3000]] + [[g] for g in range(300)]
    names = [f"g{i}" for i in range(300)]
    t = PhenotypeTable.from_sets(sets, np.zeros((len(sets), 1)), ["y"], names)
    cfg = SplitConfig(kind="random", val_fraction=0.1, test_fraction=0.2, seed=2)
    split = make_split(t, cfg, write_cache=False)
    side = _sides(t, split)
    assert all(len(parts) == 1 for parts in side.values())
    n_sets = len(side)
    for part, fraction in (("test", 0.2), ("val", 0.1)):
        held = sum(parts == {part} for parts in side.values())
        assert abs(held - fraction * n_sets) < 5 * np.sqrt(n_sets * fraction * (1 - fraction))
    order = rng.permutation(len(sets))  # the same sets shuffled, and more rows after them
    more = [sets[i] for i in order] + [list(rng.choice(300, 3, replace=False)) for _ in range(500)]
    other = PhenotypeTable.from_sets(more, np.zeros((len(more), 1)), ["y"], names)
    moved = _sides(other, make_split(other, cfg, write_cache=False))
    assert all(moved[key] == parts for key, parts in side.items())
    reseeded = _sides(t, make_split(t, SplitConfig(kind="random", val_fraction=0.1, test_fraction=0.2, seed=3),
                                     write_cache=False))
    assert sum(reseeded[key] != parts for key, parts in side.items()) > 0.2 * n_sets


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
    assert not list(tmp_path.glob(".*"))  # no temporary file left beside it
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # readable as any file the user writes, not private
    with np.load(path) as z:  # stored narrow (3,000 strains: uint16), read back as the split's int64
        assert z["train"].dtype == np.uint16
    again = make_split(t, cfg)
    assert again.train.dtype == np.int64 and np.array_equal(again.train, first.train)
    np.savez(path, train=first.train[:5], val=first.val, test=first.test)  # tamper: proves the cache is read
    assert len(make_split(t, cfg).train) == 5


def pairs_of(table, rows):
    out = set()
    for r in rows:
        genes = sorted(table.strain(r)[0].tolist())
        out |= {(a, b) for i, a in enumerate(genes) for b in genes[i + 1:]}
    return out


@pytest.mark.parametrize("n_genes", [80, 1000])  # 80: pairs percolate into one giant component
def test_pair_disjoint_split_shares_no_gene_pair_with_training(n_genes):
    t = random_table(n_strains=3000, n_genes=n_genes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = make_split(t, SplitConfig(kind="pair_disjoint", val_fraction=0.1, test_fraction=0.2, seed=2))
    train_pairs = pairs_of(t, s.train)
    assert pairs_of(t, s.test).isdisjoint(train_pairs)
    assert pairs_of(t, s.val).isdisjoint(train_pairs)
    assert np.array_equal(np.sort(np.concatenate([s.train, s.val, s.test])), np.arange(len(t)))
    if n_genes == 1000:
        assert 0.2 <= len(s.test) / len(t) < 0.25 and 0.1 <= len(s.val) / len(t) < 0.15 and not caught
    else:
        assert "too densely linked by shared pairs" in str(caught[0].message)


def test_pair_disjoint_components_follow_shared_pairs():
    from cellreg.data.splits import _pair_components

    t = PhenotypeTable.from_sets([[0, 1], [1, 0, 2], [2, 3], [1, 2], [4], [5, 6]], np.zeros((6, 1)), ["y"],
                                 [f"g{i}" for i in range(7)])
    comp = _pair_components(t)
    # {0,1} and {0,1,2} share (0,1); {1,2} shares (1,2) with the triple; {2,3} shares nothing.
    assert comp[0] == comp[1] == comp[3]
    assert len({comp[0], comp[2], comp[5]}) == 3 and comp[4] == -1


@pytest.mark.parametrize("kind", ["random", "gene_held_out", "pair_disjoint"])
def test_a_split_with_no_validation_strains_is_a_config_error(kind):
    from cellreg.config import ConfigError

    if kind == "pair_disjoint":  # every strain shares the pair (0, 1): one group, dealt whole to test
        t = PhenotypeTable.from_sets([[0, 1, 2 + i] for i in range(20)], np.zeros((20, 1)), ["y"],
                                     [f"g{i}" for i in range(22)])
    else:
        t = random_table(n_strains=20, n_genes=200)  # 1% of 20 strains rounds to none
    with pytest.raises(ConfigError) as exc, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_split(t, SplitConfig(kind=kind, val_fraction=0.01, test_fraction=0.3))
    assert exc.value.source == "split"
    assert exc.value.errors[-1].startswith(f"split.val_fraction: the {kind} split of 20 strains left no validation "
                                           "strains (val_fraction = 0.01); raise it")
    if kind == "pair_disjoint":
        assert exc.value.errors[0].startswith("split.val_fraction, split.test_fraction: the pair_disjoint split of "
                                              "20 strains left no training strains")
        assert exc.value.errors[-1].endswith('kind = "random" has no such groups)')


def test_a_split_with_no_training_strains_is_a_config_error():
    from cellreg.config import ConfigError

    # Gene 0 is in every strain: holding it out puts every strain in test.
    t = PhenotypeTable.from_sets([[0, i] for i in range(1, 11)], np.zeros((10, 1)), ["y"],
                                 [f"g{i}" for i in range(11)])
    rank0 = next(s for s in range(200) if np.random.default_rng(s).permutation(11)[0] == 0)
    with pytest.raises(ConfigError) as exc, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_split(t, SplitConfig(kind="gene_held_out", val_fraction=0.1, test_fraction=0.1, seed=rank0))
    assert exc.value.errors[0].startswith("split.val_fraction, split.test_fraction: the gene_held_out split of 10 "
                                          "strains left no training strains")


def test_pair_disjoint_validation_gets_its_share_when_test_overshoots():
    t = random_table(n_strains=3000, n_genes=80)  # one giant component of shared pairs
    with pytest.warns(UserWarning, match=r"test holds \d+% instead of 20%"):
        s = make_split(t, SplitConfig(kind="pair_disjoint", val_fraction=0.1, test_fraction=0.2, seed=2))
    sizes = s.sizes()
    assert sizes["test"] > 2 * 600 and abs(sizes["val"] - 300) <= 5 and sizes["train"] > 0  # val got its share


def test_gene_held_out_overshoot_warns():
    # Gene 0 is in 40% of the strains: holding it out overshoots test_fraction = 0.1.
    rng = np.random.default_rng(0)
    sets = [[0, 1 + i % 20] if i % 5 < 2 else list(1 + rng.choice(20, 2, replace=False)) for i in range(100)]
    t = PhenotypeTable.from_sets(sets, np.zeros((100, 1)), ["y"], [f"g{i}" for i in range(21)])
    seed = next(s for s in range(200) if np.random.default_rng(s).permutation(21)[0] == 0)
    with pytest.warns(UserWarning, match=r"gene_held_out split: test holds 4\d% of the strains instead of 10%.*"
                                         r"the most common gene is in 40 of 100 strains \(40%\)"):
        s = make_split(t, SplitConfig(kind="gene_held_out", val_fraction=0.1, test_fraction=0.1, seed=seed))
    assert len(s.test) >= 40


def test_a_relative_split_cache_lives_beside_the_config(tiny_config, tmp_path, monkeypatch):
    from cellreg.training.pipeline import Pipeline
    from cellreg.plugin_api.run_config import load_config
    from cellreg.plugin_api.registry import default_registry

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(tiny_config, ['split.cache_dir="splits"'])
    Pipeline(config, default_registry(), tiny_config.parent).data
    assert len(list((tiny_config.parent / "splits").glob("split-*.npz"))) == 1
    assert not (elsewhere / "splits").exists()


def _deal_reference(ids, n, config, rng, counts):
    """Dealing written elementwise (each group's side from the strains dealt before it)."""
    order = rng.permutation(len(counts))
    dealt = counts[order]
    before = np.cumsum(dealt) - dealt
    to_test = before < config.test_fraction * n
    to_val = ~to_test & (before - dealt[to_test].sum() < config.val_fraction * n)
    side = np.empty(len(counts), np.int8)
    side[order] = np.where(to_test, 2, np.where(to_val, 1, 0))
    return tuple(np.flatnonzero(side[ids] == k) for k in (0, 1, 2))


@pytest.mark.filterwarnings("ignore:random split")
def test_dealing_by_prefixes_matches_dealing_group_by_group():
    from cellreg.data.splits import _deal

    for trial in range(200):
        r = np.random.default_rng(trial)
        g = int(r.integers(1, 60))
        n = int(r.integers(g, 200))
        ids = np.concatenate([np.arange(g), r.integers(0, g, n - g)])  # every group once, some many times
        r.shuffle(ids)
        counts = np.bincount(ids, minlength=g)
        config = SplitConfig(kind="random", val_fraction=float(r.choice([0.05, 0.1, 0.25, 0.5])),
                             test_fraction=float(r.choice([0.01, 0.1, 0.2, 0.45])))
        expected = _deal_reference(ids, n, config, np.random.default_rng(trial), counts)
        got = _deal(ids, n, config, np.random.default_rng(trial), "groups", "repeats", counts)
        assert all(np.array_equal(a, b) for a, b in zip(got, expected)), (trial, config)


def test_a_split_made_while_the_table_is_hashed_is_the_split(tmp_path, monkeypatch):
    import time

    from cellreg.data import splits
    rng = np.random.default_rng(3)
    sets = [sorted(rng.choice(40, 2, replace=False).tolist()) for _ in range(3000)]
    labels = rng.normal(size=(3000, 1))

    def fresh():
        return PhenotypeTable.from_sets(sets, labels, ["y"], [f"g{i}" for i in range(40)])

    config = SplitConfig(kind="random", cache_dir=str(tmp_path))
    known = fresh()
    given = make_split(known, config, fingerprint=known.fingerprint())  # the key first, then the split
    unknown = fresh()
    real_hash, real_parts, pending = PhenotypeTable._content_hash, splits._parts, []
    monkeypatch.setattr(PhenotypeTable, "_content_hash", lambda self: time.sleep(0.3) or real_hash(self))
    monkeypatch.setattr(splits, "_parts", lambda t, *a: pending.append(t.fingerprint_pending) or real_parts(t, *a))
    unknown.hash_in_background()
    beside = make_split(unknown, SplitConfig(kind="random"))  # dealt while the hash runs, no cache
    assert pending == [True] and beside.key == given.key and not unknown.fingerprint_pending  # the key waits
    assert all(np.array_equal(getattr(beside, p), getattr(given, p)) for p in ("train", "val", "test"))
    assert make_split(fresh(), config).key == given.key  # from the cache this time


def test_a_split_made_while_the_table_hashes_is_used_and_cached_once_its_key_is_known(tmp_path, monkeypatch):
    """The split dealt beside the fingerprint's hashing is the split, warnings and all; make_split does
    not wait for the hash: the key, then the cache entry, follow it on a thread."""
    import time

    from cellreg.toolkit import table_cache

    sets = [[0, 1]] * 600 + [[i, i + 1] for i in range(2, 402)]  # one set in 60 % of the strains
    names = [f"g{i}" for i in range(403)]

    def table():
        return PhenotypeTable.from_sets(sets, np.zeros((len(sets), 1)), ["y"], names)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a seed whose deal puts the big set in test (and warns)
        seed = next(s for s in range(50) if 0 in make_split(table(), SplitConfig(kind="random", seed=s)).test)
    cfg = SplitConfig(kind="random", seed=seed, cache_dir=str(tmp_path))
    real_hash = PhenotypeTable._content_hash
    monkeypatch.setattr(PhenotypeTable, "_content_hash", lambda self: time.sleep(0.5) or real_hash(self))
    hashing = table()
    hashing.hash_in_background()
    with pytest.warns(UserWarning, match="test holds"):
        first = make_split(hashing, cfg)
    assert hashing.fingerprint_pending and not list(tmp_path.glob("split-*.npz"))  # returned before the hash
    table_cache.written()
    assert [p.name for p in tmp_path.glob("split-*.npz")] == [f"split-random-{first.key}.npz"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = make_split(table(), cfg)  # its fingerprint known: from the cache
    assert not caught and again.key == first.key and np.array_equal(again.test, first.test)


