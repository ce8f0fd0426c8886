"""DCell at yeast-GO scale: strains/s of the level-batched encoder against the term-by-term loop.

The ontology is the synthetic organism's planted hierarchy with preset ``yeast_go`` on 6,607 genes
(2,463 terms, 97.9 k paper-width neurons, depth 13; the filtered yeast GO DCell used has about
2,500 terms, 97 k neurons, depth 12). Both models compute the same function (the term-by-term one
is built from the batched one's weights; tests/test_dcell.py checks them equal to 1e-5). One step
is forward + backward of the root's squared error plus alpha times every term's auxiliary squared
error, on random double and triple deletions. Figures are medians over timed steps after warm-up.

    python benchmarks/dcell_bench.py                       # yeast-GO scale, batches 8 and 256, 1 thread
    python benchmarks/dcell_bench.py --ontology example    # examples/dcell.toml's 53-term ontology
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from cellreg import Context
from cellreg.data.graph import CellGraph
from cellreg_dcell.configs import DCellConfig
from cellreg_dcell.encoder import DCellEncoder
from cellreg_dcell.reference import TermByTermDCell
from cellreg_synthetic.configs import HierarchyConfig
from cellreg_synthetic.graph import modules_of
from cellreg_synthetic.hierarchy import planted_hierarchy

GENES = 6607


ONTOLOGIES = {  # genes, hierarchy options
    "yeast_go": (GENES, HierarchyConfig(preset="yeast_go")),
    "example": (1000, HierarchyConfig(branching=4)),  # examples/dcell.toml's: 53 terms, 1,700 neurons
}


def make_encoder(ontology: str = "yeast_go", variant: str = "paper", waste: float = 2.0) -> DCellEncoder:
    genes, options = ONTOLOGIES[ontology]
    module = modules_of(genes, 25, np.random.default_rng([0, 0x6A4F]))
    h = planted_hierarchy(module, options, 0)
    graph = CellGraph(genes=tuple(f"G{i:05d}" for i in range(genes)), relations={}, extra=h.to_extra())
    torch.manual_seed(0)
    return DCellEncoder(DCellConfig(variant=variant, waste=waste),
                        Context(graph=graph, label_names=("fitness", "interaction")))


def strains(b: int, genes: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    genes = torch.from_numpy(np.stack([rng.choice(genes, 3, replace=False) for _ in range(b)]))
    mask = torch.ones(b, 3, dtype=torch.bool)
    mask[: b // 2, 2] = False  # half doubles, half triples
    return {"genes": genes, "kinds": torch.zeros(b, 3, dtype=torch.long), "mask": mask}


def batched_step(enc: DCellEncoder, head: torch.nn.Linear, data, target) -> None:
    state = enc(data)
    aux = state.extras[0]
    loss = ((head(state.cell) - target) ** 2).mean() + aux.weight * ((aux.values - target) ** 2).mean((1, 2)).sum()
    loss.backward()


def reference_step(ref: TermByTermDCell, head: torch.nn.Linear, data, target, alpha: float) -> None:
    cell, aux, _ = ref(data)
    loss = ((head(cell) - target) ** 2).mean() + alpha * sum(((a - target) ** 2).mean() for a in aux)
    loss.backward()


def median_rate(step, modules, b: int, genes: int, steps: int, rng) -> float:
    data, target = strains(b, genes, rng), torch.randn(b, 2)
    times = []
    for k in range(steps + 1):  # the first is a warm-up
        for m in modules:
            m.zero_grad(set_to_none=True)  # as training does: no gradient accumulation
        start = time.perf_counter()
        step(data, target)
        times.append(time.perf_counter() - start)
    times = times[1:]
    return b / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 256])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variant", default="paper", choices=["paper", "released"])
    parser.add_argument("--ontology", default="yeast_go", choices=list(ONTOLOGIES))
    parser.add_argument("--waste", type=float, default=2.0, help="padding allowed per batched block")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    enc = make_encoder(args.ontology, args.variant, args.waste)
    ref = TermByTermDCell(enc)
    head = torch.nn.Linear(enc.dim, 2)
    alpha = enc.settings.auxiliary_weight
    layout = enc.layout
    params = sum(p.numel() for p in ref.parameters())
    padded = sum(p.numel() for p in enc.parameters())
    print(f"ontology: {enc.hierarchy.num_terms:,} terms, {layout.num_neurons:,} neurons, depth {enc.hierarchy.depth}; "
          f"{len(layout.blocks)} batched blocks; {params:,} parameters ({padded:,} with the blocks' padding); "
          f"{args.threads} thread(s), variant {args.variant}, ontology {args.ontology}, waste {args.waste}")
    print("| batch | level-batched strains/s | term-by-term strains/s | speed-up |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(0)
    for b in args.batches:
        fast = median_rate(lambda d, t: batched_step(enc, head, d, t), (enc, head), b, enc.layout.num_genes, args.steps, rng)
        slow = median_rate(lambda d, t: reference_step(ref, head, d, t, alpha), (ref, head), b, enc.layout.num_genes, args.steps, rng)
        print(f"| {b} | {fast:,.1f} | {slow:,.1f} | {fast / slow:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
