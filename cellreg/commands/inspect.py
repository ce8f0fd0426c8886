"""``cellreg inspect CONFIG``: load the graph, features, table and split exactly as ``run`` would, train
nothing, and print what was loaded, so a user checks their data before hours of training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cellreg.data.label_groups import group_columns
from cellreg.data.profiles import profile_columns
from cellreg.training.pipeline import Pipeline


def _section(title: str, lines: list[str]) -> list[str]:
    return [f"## {title}", *lines, ""]


def _report(source) -> list[str]:
    return [f"  {what}: {value}" for what, value in source.report().items()]


def _labels(pipe: Pipeline) -> list[str]:
    table = pipe.data.table
    raw = table.labels  # raw units already (the targets are these, standardized)
    out, in_profile = [], profile_columns(table)
    for group, cols in zip(table.label_groups, group_columns(table.label_groups, table.label_names)):
        if in_profile[cols].all():  # a profile: one line, not one per feature
            values = raw[:, cols]
            measured = ~np.isnan(values)
            unit = f", in {group.unit}" if group.unit else ""
            out.append(f"  {group.name} (profile of {len(cols):,} features, changes from the reference{unit}): "
                       f"{int(measured.sum()):,} of {values.size:,} strain x feature values measured; per feature, "
                       f"mean |change| {np.nanmean(np.abs(values)):.4g}, sd of change "
                       f"{np.nanmean(np.nanstd(values, 0)):.4g} (averaged over features)")
    counts = table.measured()  # the summary's: each label's strains without a NaN
    scalar = [j for j in range(len(table.label_names)) if not in_profile[j]]
    full = [j for j in scalar if counts[j] == len(raw) > 0]  # read together, in blocks of rows, as they lie
    stats = {j: (m, sd) for j, m, sd in zip(full, *mean_sd(raw, full))} if full else {}
    for j in scalar:
        if j not in stats and counts[j]:  # some missing: that column's measured values (nanmean, nanstd: 3 copies)
            col = raw[:, j]
            (m,), (sd,) = mean_sd(col[~np.isnan(col)][:, None], [0])
            stats[j] = (m, sd)
        described = "mean {:.4g}, sd {:.4g}".format(*stats[j]) if counts[j] else "no values"
        out.append(f"  {table.label_names[j]}: {int(counts[j]):,} of {len(raw):,} strains measured ({described})")
    return out


def mean_sd(values: np.ndarray, columns: list[int], block_bytes: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``values`` [n, L] named in ``columns`` (every value measured), the mean and the
    standard deviation, summed in float64 a block of rows at a time: two passes over the rows for all
    the columns. numpy's ``std`` made two float64 copies of each 20 M-row column, and a pass per
    column reads the others' bytes too."""
    n, step = len(values), max(1, block_bytes // (8 * max(len(columns), 1)))
    blocks = range(0, n, step)
    total = sum(values[a:a + step][:, columns].sum(0, dtype=np.float64) for a in blocks)
    mean = total / n
    squares = np.zeros(len(columns))
    for a in blocks:
        d = values[a:a + step][:, columns].astype(np.float64)
        d -= mean
        squares += np.einsum("ij,ij->j", d, d)
    return mean, np.sqrt(squares / n)


def _strains(pipe: Pipeline) -> list[str]:
    table, split = pipe.data.table, pipe.data.split
    sizes = table.set_sizes
    width = int(sizes.max(initial=0)) + 1
    if len(sizes) and sizes.min() == sizes.max():  # one set size (a pair screen): no pass over the strains
        counts, total = np.zeros((width, 3), np.int64), np.zeros(width, np.int64)
        counts[-1], total[-1] = [len(split.train), len(split.val), len(split.test)], len(sizes)
    else:
        total = np.zeros(width, np.int64)  # strains in no part count too
        total[:len(table.size_counts())] = table.size_counts()
        held = [np.bincount(sizes[part], minlength=width) for part in (split.val, split.test)]
        every = len(split.train) + len(split.val) + len(split.test) == len(sizes)  # parts are disjoint
        train = total - held[0] - held[1] if every else np.bincount(sizes[split.train], minlength=width)
        counts = np.stack([train, *held], 1)  # training's by subtraction: no gather of 16 M sizes
    used = int(np.count_nonzero(table.used_genes()))
    lines = [f"  {len(table):,} strains over {used:,} of the {len(table.gene_names):,} genes"]
    lines.append("  | genes per strain | strains | train | val | test |")
    lines.append("  |---|---|---|---|---|")
    for k in np.flatnonzero(total):
        lines.append(f"  | {k} | {int(total[k]):,} | " + " | ".join(f"{c:,}" for c in counts[k]) + " |")
    return lines


def inspect(config: str | Path, overrides: list[str] = ()) -> str:
    pipe = Pipeline.from_file(config, list(overrides))  # caches as run does: a second inspect reads the split
    pipe.preflight()
    cfg = pipe.config
    graph = pipe.graph
    out = [f"# {config}", ""]
    out += _section(f"graph ({cfg.graph.name})", [graph.summary(), *_report(pipe.graph_source)])
    if pipe.features is not None:
        lines = [f"  {b.name}: {b.width:,} columns{' + a missing indicator' if b.indicator else ''}, "
                 f"{pipe.features.missing[b.name]:,} genes without a vector" for b in pipe.features.blocks]
        out += _section("features", lines + [f"  together: {pipe.features.values.shape[1]:,} per gene"])
    describe = pipe.phenotypes.describe()
    data = pipe.data
    out += _section(f"phenotypes ({cfg.phenotypes.name}{': ' + describe if describe else ''})",
                    [data.table.summary(), *_report(pipe.phenotypes)])
    if data.table.environment:
        read = {t.column for t in cfg.environment}
        out += _section("environment", [f"  {c.name}{' (read by the model)' if c.name in read else ''}: {c.describe()}"
                                        for c in data.table.environment.columns]
                        + ([] if read else ["  the model reads none of them ([[environment]]): it is blind to them"]))
    out += _section("labels (raw units)", _labels(pipe))
    sizes = data.split.sizes()
    out += _section(f"split ({cfg.split.kind})", [f"  train {sizes['train']:,}, val {sizes['val']:,}, "
                                                  f"test {sizes['test']:,}", *_strains(pipe)])
    if data.leaks:
        out += _section("input graphs vs held-out strains (a label may be an input)", _leaks(data, cfg.split))
    return "\n".join(out).rstrip() + "\n"


def _leaks(data, settings) -> list[str]:
    lines = [f"  {leak.line()}" for leak in data.leaks]
    if settings.held_out_edges == "drop":
        lines.append("  dropped (held_out_edges = \"drop\"): " + ", ".join(
            f"{name} {len(p):,}" for name, p in data.dropped.items()) + " edges")
    elif any(leak.far_above for leak in data.leaks):
        lines.append('  drop the edges joining held-out strains\' genes with [split] held_out_edges = "drop"')
    return lines
