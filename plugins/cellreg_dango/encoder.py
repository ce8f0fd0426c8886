"""The DANGO encoder: a shared gene embedding, a two-layer GraphSAGE per network, a reconstruction
head per network, and the meta-embedding that mixes the networks per gene.

It is a wild-type encoder: every gene's embedding is computed once per step and the head gathers
the perturbed genes by index. In training mode the same forward also scores the reconstruction
of ``recon_rows`` sampled adjacency rows per network and hands it on as a :class:`Reconstruction`
record for the ``dango_reconstruction`` loss, so one forward serves both objectives.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from cellreg import Batch, CellState, Context, Encoder
from cellreg_dango.aggregation import MeanAdjacency
from cellreg_dango.graphsage import NetworkEncoder, RowDecoder
from cellreg_dango.meta_embedding import MetaEmbedding
from cellreg_dango.networks import choose_networks
from cellreg_dango.reconstruction import ReconstructionTargets
from cellreg_dango.records import JointSchedule, Reconstruction
from cellreg_dango.schedule import Schedule
from cellreg_dango.configs import DangoConfig

log = logging.getLogger("cellreg")


class DangoEncoder(Encoder):
    per_strain = False
    provides = (JointSchedule, Reconstruction)

    def __init__(self, config: DangoConfig, context: Context) -> None:
        super().__init__()
        graph = context.graph
        n, d = graph.num_genes, config.dim
        self.dim, self.num_genes, self.recon_rows = d, n, config.recon_rows
        networks = choose_networks(graph, config.relations, config.zero_weight)
        self.network_names = tuple(name for name, _ in networks)
        self.zero_weights = tuple(lam for _, lam in networks)
        self.embedding = nn.Embedding(n, d)
        self.encoders = nn.ModuleList(NetworkEncoder(d) for _ in networks)
        self.decoders = nn.ModuleList(RowDecoder(d, n) for _ in networks)
        self.meta = MetaEmbedding(d, config.meta_hidden)
        relations = [graph.relations[name] for name, _ in networks]
        self.adjacency = nn.ModuleList(MeanAdjacency(r.message_index(), n, symmetric=not r.directed)
                                       for r in relations)
        self.targets = nn.ModuleList(ReconstructionTargets(r, lam) for r, (_, lam) in zip(relations, networks))
        self.schedule = Schedule(config.pretrain_epochs, config.transition_epochs, config.joint_recon_weight)
        self.main_factor, self.recon_factor = self.schedule.joint()

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        self.main_factor, self.recon_factor = self.schedule.factors(epoch)
        if epoch == 0 and self.schedule.factors(epochs - 1)[0] == 0.0:
            log.warning("dango: all %d epochs are pretraining; the head is never trained", epochs)

    def forward(self, batch: Batch) -> CellState:
        x = self.embedding.weight
        per_network = torch.stack([enc(x, adj) for enc, adj in zip(self.encoders, self.adjacency)], dim=1)  # [N, R, d]
        genes, weights = self.meta(per_network)
        extras = [JointSchedule(self.main_factor)]
        if self.training and self.recon_factor > 0:
            rows = self.sample_rows(x.device)
            extras.append(Reconstruction(self.reconstruction_error(per_network, rows), rows, self.recon_factor))
        return CellState(genes=genes, extras=tuple(extras),
                         aux={"network_embeddings": per_network, "network_weights": weights})

    @torch.no_grad()
    def epoch_diagnostics(self) -> dict:
        """For ``metrics.jsonl``, after each epoch: the schedule's factors, each network's mean
        meta-embedding weight, and its reconstruction error *without* the schedule's factor (the
        logged loss part has it) on a fixed set of rows, so pretraining progress stays visible."""
        x = self.embedding.weight
        per_network = torch.stack([enc(x, adj) for enc, adj in zip(self.encoders, self.adjacency)], dim=1)
        weights = self.meta(per_network)[1].mean(0)
        fixed = torch.randperm(self.num_genes, generator=torch.Generator().manual_seed(0))[: self.recon_rows]
        errors = self.reconstruction_error(per_network, fixed.to(x.device))
        return {"dango": {
            "main_factor": self.main_factor, "recon_factor": self.recon_factor,
            "network_weight": {n: round(float(w), 4) for n, w in zip(self.network_names, weights)},
            "reconstruction": {n: round(float(e), 6) for n, e in zip(self.network_names, errors)},
        }}

    def sample_rows(self, device: torch.device) -> torch.Tensor:
        """Distinct genes whose adjacency rows are reconstructed this step (all when recon_rows >= N)."""
        if self.recon_rows >= self.num_genes:
            return torch.arange(self.num_genes, device=device)
        return torch.randperm(self.num_genes, device=device)[: self.recon_rows]

    def reconstruction_error(self, per_network: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """λ-weighted sparse MSE of each network's predicted rows ``rows``: [R networks]."""
        return torch.stack([targets.error(decoder(per_network[rows, i]), rows)
                            for i, (decoder, targets) in enumerate(zip(self.decoders, self.targets))])
