"""Where the signal is on the real benchmark (docs/results.md, "The real benchmark"): the shipped files
only (examples/real/), numpy and scipy, no model training, a few seconds.

    python scripts/real_analysis.py            # markdown to stdout

1. Is DCell's test file a random slice of the pairs? Per-gene counts in training and test, and a
   dispersion statistic, against 1,000 random re-splits of all pairs with the same test size.
2. The additive part: a ridge fit of eps_ab = r_a + r_b + c on the training pairs, scored on the test
   pairs, and the same fit on the test pairs themselves (the share of test variance any purely
   additive model can explain, an upper bound), and how much of the variance the extreme pairs hold.
3. Pairs joined in STRING v9.1 (any of the four channels): their |eps| and how often they are strong,
   against pairs that are not joined, with a bootstrap interval of the difference.
4. A noise ceiling needs replicate measurements: the files hold one eps per pair, so none is computed.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

REAL = Path(__file__).resolve().parents[1] / "examples" / "real"
CHANNELS = ("neighborhood", "database", "cooccurence", "fusion")


def read_pairs(name: str) -> tuple[list[tuple[str, str]], np.ndarray]:
    with open(REAL / name, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [(r["gene_a"], r["gene_b"]) for r in rows], np.array([float(r["interaction"]) for r in rows])


def incidence(pairs, index) -> np.ndarray:
    x = np.zeros((len(pairs), len(index)))
    rows = np.repeat(np.arange(len(pairs)), 2)
    np.add.at(x, (rows, [index[g] for p in pairs for g in p]), 1.0)
    return x


def ridge_additive(x, y, x_new, lam=1.0):
    a = np.c_[x, np.ones(len(x))]
    w = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ y)
    return np.c_[x_new, np.ones(len(x_new))] @ w


def pearson(a, b) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def string_pairs(genes) -> dict[str, set]:
    out = {}
    for ch in CHANNELS:
        with open(REAL / "edges" / f"string_{ch}.tsv", newline="") as f:
            out[ch] = {frozenset((r["gene_a"], r["gene_b"])) for r in csv.DictReader(f, delimiter="\t")
                       if r["gene_a"] in genes and r["gene_b"] in genes}
    out["any"] = set().union(*out.values())
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    train, y_train = read_pairs("GO_0000790_train.tsv")
    test, y_test = read_pairs("GO_0000790_test.tsv")
    genes = sorted({g for p in train + test for g in p})
    index = {g: i for i, g in enumerate(genes)}
    x_train, x_test = incidence(train, index), incidence(test, index)
    print(f"## 1. The split ({len(train):,} training, {len(test):,} test pairs, {len(genes)} genes)\n")
    c_train, c_test = x_train.sum(0), x_test.sum(0)
    total = c_train + c_test
    x_all = np.r_[x_train, x_test]
    share = len(test) / len(x_all)

    def dispersion(c):
        return float((((c - share * total) ** 2) / total).sum())

    corr, disp = [], []
    for _ in range(1000):
        c = x_all[rng.permutation(len(x_all))[:len(test)]].sum(0)
        corr.append(pearson(total - c, c))
        disp.append(dispersion(c))
    print("| statistic | DCell's test file | 1,000 random re-splits (mean ± sd) | share of re-splits below |")
    print("|---|---|---|---|")
    obs_corr, obs_disp = pearson(c_train, c_test), dispersion(c_test)
    print(f"| per-gene count correlation, training vs test | {obs_corr:.3f} | {np.mean(corr):.3f} ± {np.std(corr):.3f} "
          f"| {np.mean(np.array(corr) < obs_corr):.2f} |")
    print(f"| dispersion of per-gene test counts (chi-square) | {obs_disp:.1f} | {np.mean(disp):.1f} ± {np.std(disp):.1f} "
          f"| {np.mean(np.array(disp) < obs_disp):.2f} |")
    frac = c_test / total
    print(f"\nPer-gene test share: {frac.min():.2f} to {frac.max():.2f} (median {np.median(frac):.2f}); "
          f"every test gene has at least {int(c_train.min())} training pairs.\n")

    print("## 2. The additive part\n")
    p = ridge_additive(x_train, y_train, x_test)
    fit = ridge_additive(x_test, y_test, x_test, lam=1e-6)
    carves = []
    for _ in range(200):
        perm = rng.permutation(len(train))
        v, t = perm[:len(train) // 10], perm[len(train) // 10:]
        carves.append(pearson(ridge_additive(x_train[t], y_train[t], x_train[v]), y_train[v]))
    r2 = 1 - ((fit - y_test) ** 2).mean() / y_test.var()
    print("| quantity | value |\n|---|---|")
    print(f"| additive ridge (r_a + r_b + c, lambda 1) fit on training, test Pearson | {pearson(p, y_test):.3f} |")
    print(f"| the same on 200 random 10 % validation carves of training (mean ± sd) | {np.mean(carves):.3f} ± {np.std(carves):.3f} |")
    print(f"| additive fit on the test pairs themselves: R² (share of test variance) | {r2:.3f} (Pearson {np.sqrt(r2):.3f}) |")
    for name, y in (("training", y_train), ("test", y_test)):
        d = np.sort((y - y.mean()) ** 2)[::-1]
        print(f"| {name}: share of the variance in the 1 % / 5 % most extreme pairs | "
              f"{d[:len(d) // 100].sum() / d.sum():.2f} / {d[:len(d) // 20].sum() / d.sum():.2f} |")
    print()

    print("## 3. Pairs joined in STRING v9.1\n")
    joined = string_pairs(set(genes))
    print("| pairs | channel | joined | mean abs(eps) joined / not | strong (abs(eps) > 0.08) joined / not | "
          "eps > 0.08 joined / not | difference of mean abs(eps), 95 % bootstrap |")
    print("|---|---|---|---|---|---|---|")
    for name, pairs, y in (("training", train, y_train), ("test", test, y_test)):
        for ch in ("database", "neighborhood", "any"):
            m = np.array([frozenset(q) in joined[ch] for q in pairs])
            a, b = np.abs(y[m]), np.abs(y[~m])
            boot = [rng.choice(a, len(a)).mean() - rng.choice(b, len(b)).mean() for _ in range(2000)]
            lo, hi = np.percentile(boot, [2.5, 97.5])
            print(f"| {name} | {ch} | {m.sum():,} of {len(m):,} | {a.mean():.4f} / {b.mean():.4f} | "
                  f"{(a > 0.08).mean():.3f} / {(b > 0.08).mean():.3f} | {(y[m] > 0.08).mean():.3f} / {(y[~m] > 0.08).mean():.3f} "
                  f"| {a.mean() - b.mean():+.4f} [{lo:+.4f}, {hi:+.4f}] |")
    print("\n## 4. Noise ceiling\n\nNot computable from these files: DCell's tables hold one eps per pair, with no "
          "replicate measurements or per-pair standard errors.")


if __name__ == "__main__":
    main()
