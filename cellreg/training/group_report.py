"""Tables of metrics, one row per label group and one table per group kind (each kind has its own
metrics): what ``cellreg run`` prints and ``cellreg compare`` writes, so neither loops over labels."""

from __future__ import annotations

from typing import Callable, Sequence

import attrs

from cellreg.data.label_groups import GroupKind, LabelGroup
from cellreg.training.group_metrics import scorer_for


@attrs.frozen
class Row:
    """One group's metrics with the cells around them: ``lead`` before the group's name, ``trail`` after its metrics."""

    lead: tuple[str, ...]
    group: LabelGroup
    metrics: dict
    trail: tuple[str, ...] = ()


def plain(metrics: dict, metric: str) -> str:
    value = metrics.get(metric)
    return "n/a" if value is None else f"{value:.4f}"


def with_interval(metrics: dict, metric: str) -> str:
    """``0.412 [0.380, 0.441]``: the value and its 95% interval where the report has one."""
    value = metrics.get(metric)
    if value is None:
        return "n/a"
    ci = (metrics.get("ci95") or {}).get(metric)
    if ci and None not in ci:
        return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"{value:.3f}"


def group_tables(rows: Sequence[Row], lead: Sequence[str], trail: Sequence[str] = (),
                 cell: Callable[[dict, str], str] = plain) -> str:
    """Markdown: a table per group kind present (in order of first appearance), columns ``lead``,
    ``group``, ``n``, the kind's metrics (:attr:`GroupScorer.columns`), ``trail``. A metric column
    says ``[95% CI]`` where some row shows an interval for it."""
    kinds = list(dict.fromkeys(r.group.kind for r in rows))
    return "\n\n".join(_table(kind, [r for r in rows if r.group.kind == kind], lead, trail, cell) for kind in kinds)


def _table(kind: GroupKind, rows: list[Row], lead, trail, cell) -> str:
    columns = scorer_for(kind).columns()
    shown = {m: any((r.metrics.get("ci95") or {}).get(m) for r in rows) and cell is with_interval for m in columns}
    titles = [f"{title} [95% CI]" if shown[m] else title for m, title in columns.items()]
    single = all(len(r.group.labels) == 1 for r in rows)  # a table of plain labels reads as before
    header = [*lead, "label" if single else f"{kind.value} group", "n", *titles, *trail]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [*r.lead, r.group.name, str(r.metrics.get("n", "n/a")), *(cell(r.metrics, m) for m in columns),
                 *r.trail]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
