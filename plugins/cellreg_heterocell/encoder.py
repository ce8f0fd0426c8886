"""HeteroCell: F(G) − F(G∖S) from a heterogeneous GNN over genes (and reactions, metabolites).

Learned embeddings per node type, ``layers`` rounds of ``HeteroConv`` with one ``GraphConv``
(mean over live in-neighbours of weight × state) per message type, summed per node type, then a
residual ``h + dropout(relu(norm(·)))``; live nodes are pooled per node type and a linear readout
gives the whole-cell vector. The same weights run on two input forms:

* masks over the shared wild-type graph (op ``lazy_mask``): all strains of the batch at once, as
  columns of one sparse product per message type; a dead node's state is zeroed after every layer
  (so it sends nothing) and it is not pooled, and dead edges leave their receivers' counts;
* batched subgraphs (ops ``explicit``, ``khop``): PyG's ``HeteroConv`` on the block-diagonal batch.

Both compute the same numbers for the same graph (tests check strain by strain). F(G) of the wild
type is the shared form with nothing dead: once per step, and reused in eval mode until a weight
changes. ``CellState.cell`` [B, d] is F(G) − F(G∖S); ``aux`` holds ``wildtype`` [d] and
``strains`` [B, d]. With ``khop`` it is F(N) − F(N∖S) for the strain's neighbourhood N, which the
op hands over intact as well (``aux["reference"]`` [B, d]).
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GraphConv, HeteroConv
from torch_geometric.utils import to_dense_batch

from cellreg import Batch, CellState, Context, Encoder
from cellreg_heterocell.adjacency import SharedAdjacency
from cellreg_heterocell.message_types import MessageType, message_types
from cellreg_heterocell.pooling import MaskedPool
from cellreg.toolkit.layout import GENE, REF, SUB, dead_keys, edge_specs, node_counts, sub_edge_keys, sub_node_keys
from cellreg_heterocell.configs import HeteroCellConfig

OPS = '"lazy_mask", "explicit" or "khop"'


def _safe(key: str) -> str:
    return key.replace(".", "_")  # module and buffer names cannot hold dots


def _chosen_specs(config: HeteroCellConfig, graph) -> list:
    specs = edge_specs(graph)
    names = [s.name for s in specs if s.src == GENE and s.dst == GENE]
    unknown = [r for r in config.relations if r not in names]
    if unknown:
        raise ValueError(f"hetero_cell.relations: no gene–gene relation {unknown[0]!r}; the graph has: "
                         f"{', '.join(names)}")
    chosen = []
    for s in specs:
        if s.src == GENE and s.dst == GENE:
            if not config.relations or s.name in config.relations:
                chosen.append(s)
        elif config.metabolism:
            chosen.append(s)
    return chosen


class HeteroCellEncoder(Encoder):
    per_strain = True

    def __init__(self, config: HeteroCellConfig, context: Context) -> None:
        super().__init__()
        graph = context.graph
        d = self.dim = config.dim
        specs = _chosen_specs(config, graph)
        self.mtypes: list[MessageType] = message_types(specs)
        counts = node_counts(graph)
        used = {GENE} | {t for mt in self.mtypes for t in (mt.src, mt.dst)}
        self.types = [t for t in counts if t in used]
        self.counts = {t: counts[t] for t in self.types}
        self.embed = nn.ModuleDict({t: nn.Embedding(n, d) for t, n in self.counts.items()})
        for e in self.embed.values():
            nn.init.normal_(e.weight, std=config.init_std)
        self.project = None
        if config.features and graph.gene_features is not None:
            self.register_buffer("gene_features", graph.gene_features.float(), persistent=False)
            self.project = nn.Linear(graph.gene_features.shape[1], d, bias=False)
        self.convs = nn.ModuleList(
            HeteroConv({mt.edge_type: GraphConv((d, d), d, aggr="mean") for mt in self.mtypes}, aggr="sum")
            for _ in range(config.layers))
        self.norms = nn.ModuleList(
            nn.ModuleDict({t: nn.LayerNorm(d) if config.norm else nn.Identity() for t in self.types})
            for _ in range(config.layers))
        self.dropout = nn.Dropout(config.dropout)
        self.pool = MaskedPool(config.pool, self.types, d)
        self.readout = nn.Linear(len(self.types) * d, d)
        # The shared wild-type graph, once: message matrices, in-degrees, canonical edges.
        self.adjacency = nn.ModuleDict()
        for mt in self.mtypes:
            ei = mt.message_index(mt.spec.edge_index)
            w = mt.message_weight(mt.spec.weight)
            w = torch.ones(ei.shape[1]) if w is None else w.float()
            self.adjacency[mt.module_key] = SharedAdjacency(ei[0], ei[1], w, self.counts[mt.src], self.counts[mt.dst])
            self.register_buffer(f"deg_{mt.module_key}", torch.bincount(ei[1], minlength=self.counts[mt.dst]).float(),
                                 persistent=False)
        for s in specs:  # canonical edges: where the lazy op's dead positions point
            self.register_buffer(f"edges_{_safe(s.key)}", s.edge_index, persistent=False)
        self._wildtype_cache: tuple | None = None

    # -- shared pieces ---------------------------------------------------------------------------
    def _initial(self, t: str, ids: torch.Tensor | None) -> torch.Tensor:
        h = self.embed[t].weight if ids is None else self.embed[t](ids)
        if t == GENE and self.project is not None:
            h = h + self.project(self.gene_features if ids is None else self.gene_features[ids])
        return h

    def _update(self, layer: int, t: str, h: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        if out is None:
            return h
        return h + self.dropout(torch.relu(self.norms[layer][t](out)))

    def _cell(self, pooled: list[torch.Tensor]) -> torch.Tensor:
        return self.readout(torch.cat(pooled, dim=-1))

    # -- masks over the shared graph (lazy_mask, and the wild type) ----------------------------------
    def _dead_in_edges(self, mt: MessageType, strain: torch.Tensor, pos: torch.Tensor) -> tuple:
        """(strain, receiving node) of each dead edge's message(s) of this type."""
        ei = getattr(self, f"edges_{_safe(mt.spec.key)}")
        if mt.direction == "forward":
            return strain, ei[1, pos]
        if mt.direction == "reverse":
            return strain, ei[0, pos]
        return torch.cat([strain, strain]), torch.cat([ei[1, pos], ei[0, pos]])

    def shared_cells(self, num: int, batch: Batch | None) -> torch.Tensor:
        """[num, d] for ``num`` strains given as dead lists in ``batch`` (None: the wild type).

        Every dead edge touches a dead node (the ``dead.*`` contract), so zeroing dead nodes after
        each layer already silences dead edges' messages; the edge lists fix the neighbour counts.
        """
        d = self.dim
        ref = self.readout.weight
        alive = {}
        for t, n in self.counts.items():
            ks, ki = dead_keys(t)
            a = torch.ones(n, num, device=ref.device, dtype=ref.dtype)
            if batch is not None and ki in batch:
                a = a.index_put((batch[ki], batch[ks]), a.new_zeros(()))
            alive[t] = a.unsqueeze(-1)
        counts = {}
        for mt in self.mtypes:
            n_dst = self.counts[mt.dst]
            count = getattr(self, f"deg_{mt.module_key}").to(ref.dtype).unsqueeze(1).repeat(1, num)
            ks, ki = dead_keys(mt.spec.key)
            if batch is not None and ki in batch:
                s, dst = self._dead_in_edges(mt, batch[ks], batch[ki])
                count = count.view(-1).index_add(0, dst * num + s, -torch.ones_like(s, dtype=ref.dtype))
            counts[mt.module_key] = count.view(n_dst, num, 1).clamp(min=1)
        h = {t: self._initial(t, None).unsqueeze(1) * alive[t] for t in self.types}  # [N_t, S, d]
        for layer, conv in enumerate(self.convs):
            out: dict[str, torch.Tensor] = {}
            for mt in self.mtypes:
                gc = conv.convs[mt.edge_type]
                n_src, n_dst = self.counts[mt.src], self.counts[mt.dst]
                agg = self.adjacency[mt.module_key](h[mt.src].reshape(n_src, num * d)).view(n_dst, num, d)
                o = gc.lin_rel(agg / counts[mt.module_key])
                out[mt.dst] = o if mt.dst not in out else out[mt.dst] + o
            for t, o in out.items():  # GraphConv's root terms, one product per node type
                root = sum(conv.convs[mt.edge_type].lin_root.weight for mt in self.mtypes if mt.dst == t)
                out[t] = o + h[t] @ root.t()
            h = {t: self._update(layer, t, h[t], out.get(t)) * alive[t] for t in self.types}
        pooled = [self.pool(t, h[t].transpose(0, 1), alive[t].squeeze(-1).t() > 0) for t in self.types]
        return self._cell(pooled)

    def wildtype(self) -> torch.Tensor:
        """F(G) [d]: computed once per training step; in eval mode kept until a weight changes."""
        if self.training:
            self._wildtype_cache = None
            return self.shared_cells(1, None)[0]
        key = tuple((p.data_ptr(), p._version) for p in self.parameters())
        if self._wildtype_cache is None or self._wildtype_cache[0] != key:
            with torch.no_grad():
                self._wildtype_cache = (key, self.shared_cells(1, None)[0])
        return self._wildtype_cache[1]

    # -- batched subgraphs (explicit, khop) ----------------------------------------------------------
    def subgraph_cells(self, num: int, batch: Batch, prefix: str = SUB) -> torch.Tensor:
        x, index = {}, {}
        for t in self.types:
            kid, kbatch = sub_node_keys(t, prefix)
            x[t], index[t] = self._initial(t, batch[kid]), batch[kbatch]
        edges, weights = {}, {}
        for mt in self.mtypes:
            kei, kw = sub_edge_keys(mt.spec.key, prefix)
            edges[mt.edge_type] = mt.message_index(batch[kei])
            w = mt.message_weight(batch.get(kw))
            if w is not None:
                weights[mt.edge_type] = w.to(x[GENE].dtype)
        for layer, conv in enumerate(self.convs):
            out = conv(x, edges, edge_weight_dict=weights)
            x = {t: self._update(layer, t, x[t], out.get(t)) for t in self.types}
        pooled = []
        for t in self.types:
            dense, live = to_dense_batch(x[t], index[t], batch_size=num)
            pooled.append(self.pool(t, dense, live))
        return self._cell(pooled)

    def forward(self, batch: Batch) -> CellState:
        num = batch["genes"].shape[0]
        if dead_keys(GENE)[1] in batch:
            strains = self.shared_cells(num, batch)
        elif sub_node_keys(GENE)[0] in batch:
            strains = self.subgraph_cells(num, batch)
        else:
            raise ValueError(f"hetero_cell needs a graph perturbation op: set [perturbation] name = {OPS} "
                             f"(the batch has only {', '.join(sorted(batch))})")
        if sub_node_keys(GENE, REF)[0] in batch:  # k-hop: compared with its own neighbourhood, intact
            reference = self.subgraph_cells(num, batch, REF)
            return CellState(cell=reference - strains, aux={"reference": reference, "strains": strains})
        wildtype = self.wildtype()
        return CellState(cell=wildtype.unsqueeze(0) - strains, aux={"wildtype": wildtype, "strains": strains})
