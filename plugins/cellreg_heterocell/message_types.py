"""The message types HeteroCell passes over, derived from the graph's relations.

An undirected gene–gene relation is one type whose messages flow both ways (its own weights for
both directions, like ``Relation.message_index``). A directed relation, and every bipartite one
(gene→reaction rules, metabolite–reaction stoichiometry), gives two types: forward, and reverse
under ``rev_<name>``, so that information reaches both ends with separate weights.
"""

from __future__ import annotations

from typing import Literal

import attrs
import torch

from cellreg.toolkit.layout import EdgeSpec


def signed_log1p(w: torch.Tensor) -> torch.Tensor:
    """Message weights from raw edge weights: stoichiometric coefficients of 60 should not swamp 1."""
    return torch.sign(w) * torch.log1p(w.abs())


@attrs.frozen(eq=False)
class MessageType:
    spec: EdgeSpec
    direction: Literal["forward", "reverse", "both"]

    @property
    def src(self) -> str:
        return self.spec.dst if self.direction == "reverse" else self.spec.src

    @property
    def dst(self) -> str:
        return self.spec.src if self.direction == "reverse" else self.spec.dst

    @property
    def edge_type(self) -> tuple[str, str, str]:
        name = f"rev_{self.spec.name}" if self.direction == "reverse" else self.spec.name
        return self.src, name, self.dst

    @property
    def module_key(self) -> str:
        return "__".join(self.edge_type).replace(".", "_")

    def message_index(self, ei: torch.Tensor) -> torch.Tensor:
        """[2, E] canonical edges -> [2, E'] messages (row 0 sends, row 1 receives)."""
        if self.direction == "forward":
            return ei
        if self.direction == "reverse":
            return ei.flip(0)
        return torch.cat([ei, ei.flip(0)], dim=1)

    def message_weight(self, w: torch.Tensor | None) -> torch.Tensor | None:
        if w is None:
            return None
        w = signed_log1p(w)
        return torch.cat([w, w]) if self.direction == "both" else w


def message_types(specs: list[EdgeSpec]) -> list[MessageType]:
    out = []
    for spec in specs:
        if spec.undirected:
            out.append(MessageType(spec, "both"))
        else:
            out += [MessageType(spec, "forward"), MessageType(spec, "reverse")]
    return out
