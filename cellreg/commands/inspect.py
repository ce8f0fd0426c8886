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
    for j, name in enumerate(table.label_names):
        if in_profile[j]:
            continue
        col = raw[:, j]  # where every strain measured it, read in blocks as it lies: no copy of the column
        measured = col if counts[j] == len(col) else col[~np.isnan(col)]  # (nanmean and nanstd: three copies)
        stats = "mean {:.4g}, sd {:.4g}".format(*mean_sd(measured)) if len(measured) else "no values"
        out.append(f"  {name}: {len(measured):,} of {len(col):,} strains measured ({stats})")
    return out


def mean_sd(values: np.ndarray, block: int = 1 << 20) -> tuple[float, float]:
    """The mean and the standard deviation of ``values``, summed in float64 a block at a time (numpy's
    ``std`` made two float64 copies of each 20 M-row column: three labels took 0.25 s, now 0.10 s)."""
    mean = sum(float(values[a:a + block].sum(dtype=np.float64)) for a in range(0, len(values), block)) / len(values)
    squares = 0.0
    for a in range(0, len(values), block):
        d = values[a:a + block].astype(np.float64)
        d -= mean
        squares += float(d @ d)
    return mean, (squares / len(values)) ** 0.5


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
