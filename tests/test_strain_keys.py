"""64-bit strain keys: one key per perturbation set whatever the order of its entries, grouping
exactly like a sort of the padded sorted rows (the reference), and the split cached by default for
large tables."""

import numpy as np
import pytest

from cellreg.config.split_config import SplitConfig
from cellreg.data import splits
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.data.strain_keys import groups, strain_keys


def _table(sets, kinds=None):
    return PhenotypeTable.from_sets(sets, np.zeros((len(sets), 1)), ["y"], [f"g{i}" for i in range(50)], kinds)


def test_order_free_and_sensitive_to_genes_kinds_size_and_extra():
    t = _table([[1, 2, 3], [3, 1, 2], [1, 2], [1, 2, 3], [1, 1, 2], [1, 2, 2], []],
               [[0, 0, 0], [0, 0, 0], [0, 0], [0, 2, 0], [0, 0, 0], [0, 0, 0], []])
    k = strain_keys(t)
    assert k.dtype == np.uint64
    assert k[0] == k[1]  # same set, other order
    assert len(set(k[[0, 2, 3, 4, 5, 6]].tolist())) == 6  # a subset, another kind, repeated genes, the empty set
    env = np.array([7, 8, 7, 7, 7, 7, 7], np.uint64)
    with_env = strain_keys(t, env)
    assert with_env[0] != with_env[1]  # same set, two environments


def test_groups_equal_the_padded_sort_reference():
    rng = np.random.default_rng(0)
    sets = [list(rng.choice(12, size=rng.integers(1, 4), replace=False)) for _ in range(3000)]
    kinds = [list(rng.integers(0, 2, size=len(s))) for s in sets]
    t = _table(sets, kinds)
    # reference: the rows of sorted (gene, kind) codes, padded, grouped by np.unique(axis=0)
    code = [sorted(g * 8 + c for g, c in zip(s, k)) for s, k in zip(sets, kinds)]
    padded = np.array([c + [-1] * (3 - len(c)) for c in code])
    ref = np.unique(padded, axis=0, return_inverse=True)[1].reshape(-1)
    got, counts = groups(strain_keys(t))
    # the same partition: a one-to-one map between the two numberings
    pairs = np.unique(np.stack([ref, got], 1), axis=0)
    assert len(pairs) == len(np.unique(ref)) == len(np.unique(got)) == len(counts)
    assert counts.sum() == len(sets) and len(counts) < len(sets)


def test_a_large_tables_split_is_cached_in_the_table_cache_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path))
    monkeypatch.setattr(splits, "SHARED_CACHE_MIN_STRAINS", 100)
    rng = np.random.default_rng(1)
    t = _table([[int(a), int(b)] for a, b in rng.integers(0, 50, size=(400, 2))])
    first = splits.make_split(t, SplitConfig())
    written = list((tmp_path / "splits").glob("split-random-*.npz"))
    assert [p.name for p in written] == [f"split-random-{first.key}.npz"]
    np.savez(written[0], train=first.train[:3], val=first.val, test=first.test)  # served from the cache
    assert len(splits.make_split(t, SplitConfig()).train) == 3
    monkeypatch.setenv("CELLREG_CACHE", "off")
    assert len(splits.make_split(t, SplitConfig()).train) == len(first.train)
    small = _table([[i, i + 1] for i in range(20)])
    monkeypatch.setattr(splits, "SHARED_CACHE_MIN_STRAINS", 10**6)
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "other"))
    splits.make_split(small, SplitConfig(val_fraction=0.2, test_fraction=0.2))
    assert not (tmp_path / "other").exists()  # small tables split as quickly as they read a cache


def test_mix64_is_splitmix64s_finaliser():
    from cellreg.data.strain_keys import mix64

    def reference(v):  # Steele, Lea and Flood's splitmix64 finaliser, in Python integers
        v = ((v ^ (v >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
        v = ((v ^ (v >> 27)) * 0x94D049BB133111EB) % 2**64
        return v ^ (v >> 31)

    xs = np.array([0, 1, 12345, 2**63 + 5, 2**64 - 1], np.uint64)
    assert [int(v) for v in mix64(xs)] == [reference(int(v)) for v in xs]


def test_inspect_caches_the_split_of_a_large_table(tmp_path, monkeypatch):
    """A second inspect reads the split the first one wrote (20 M strains: 9 s of a warm inspect)."""
    import tomli_w

    from cellreg.commands.inspect import inspect

    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(splits, "SHARED_CACHE_MIN_STRAINS", 10)
    genes = [f"Y{i:02d}" for i in range(12)]
    (tmp_path / "e.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in zip(genes, genes[1:])))
    (tmp_path / "t.tsv").write_text("a\tb\tscore\n" + "".join(f"{genes[i % 12]}\t{genes[(5 * i + 1) % 12]}\t{i}\n"
                                                              for i in range(40) if i % 12 != (5 * i + 1) % 12))
    raw = {"graph": {"name": "edge_list", "files": [{"path": "e.tsv", "relation": "chain"}]},
           "phenotypes": {"name": "table", "path": "t.tsv", "gene_columns": ["a", "b"]},
           "model": {"encoder": {"name": "gene_embedding", "dim": 4}, "head": {"name": "sum_mlp", "hidden": 4}}}
    (tmp_path / "c.toml").write_text(tomli_w.dumps(raw))
    first = inspect(tmp_path / "c.toml")
    assert len(list((tmp_path / "cache" / "splits").glob("split-random-*.npz"))) == 1
    monkeypatch.setattr(splits, "_random", lambda *a: pytest.fail("the split was recomputed"))
    assert inspect(tmp_path / "c.toml") == first


@pytest.mark.parametrize("largest", [2, 3])  # exact set keys (singles and pairs; larger sets by size)
def test_split_groups_from_exact_keys_equal_those_from_hashes(largest):
    rng = np.random.default_rng(5)
    sets = [list(rng.choice(8, size=rng.integers(1, largest + 1), replace=False)) for _ in range(3000)]
    t = _table(sets, [list(rng.integers(0, 2, size=len(s))) for s in sets])
    got, counts = splits._set_groups(t)
    ref, ref_counts = groups(strain_keys(t))
    np.testing.assert_array_equal(got, ref)  # both number groups by first appearance
    np.testing.assert_array_equal(counts, ref_counts)
