"""Config tables of the graph-features plugin, apart from its code: listing plugins and checking
configs import no torch."""

from __future__ import annotations

from typing import Any

import attrs

from cellreg.toolkit.text_tables import not_empty


@attrs.frozen
class GraphProfileConfig:
    """``[[features]] name = "graph_profile"``: gene i's feature (r, a) is the weight of its edge to
    anchor gene a in relation r of ``graph`` (0 without one; 1 for an unweighted edge, or with
    ``binary``). ``graph`` is any graph plugin's table (``name`` plus its options, as under
    ``[graph]``); ``anchors`` a gene list file; ``relations`` the relations used (default: all)."""

    graph: dict[str, Any] = attrs.field(validator=not_empty)
    anchors: str
    relations: list[str] | None = None
    binary: bool = False
    scale: bool = True  # divide each relation's weights by its largest, so relations share one range
