"""Environments for the synthetic organism: each strain grown under a few (temperature, dose)
conditions, with a planted mechanism a model can only learn if it reads the environment.

* **Heat-sensitive module.** The genes whose latent position lies furthest along a random
  direction h (``heat_fraction`` of them) matter only when it is hot: a deletion of one costs
  ``heat_cost · σ((T − heat_threshold) / 1 °C)`` of fitness, nothing at 26 °C, almost all of it at 37 °C.
* **A compound that inhibits one pathway.** The inhibitor's effect is a Hill curve in dose,
  ``s(d) = d^2 / (d^2 + ic50^2)``. It slows every strain a little (``(1 − 0.1 s(d))``) and strains
  that lack a gene of the inhibited pathway (the genes furthest along another direction p, which
  buffer it) a lot: ``(1 − drug_cost · s(d))``.

Fitness under an environment is the strain's planted fitness times these factors; the interaction
label stays the planted ε/τ (it does not depend on the condition here), so the environment-aware
and blind models differ on fitness (docs/synthetic.md).
"""

from __future__ import annotations

import numpy as np

from cellreg.data.environment import EnvColumn, EnvKind, Environment
from cellreg_synthetic.configs import SyntheticEnvironmentConfig


def _top(z: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """[N] bool: the genes furthest along a random direction of the latent space."""
    d = rng.standard_normal(z.shape[1])
    score = z @ (d / np.linalg.norm(d))
    return score >= np.quantile(score, 1.0 - fraction)


def grow(offsets: np.ndarray, genes: np.ndarray, labels: np.ndarray, z: np.ndarray,
         config: SyntheticEnvironmentConfig, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Environment]:
    """Each strain under ``per_strain`` distinct conditions drawn from temperatures x doses:
    (offsets, genes, labels [fitness, interaction], environment) of the grown table."""
    heat, pathway = _top(z, config.heat_fraction, rng), _top(z, config.pathway_fraction, rng)
    conditions = np.array([(t, d) for t in config.temperatures for d in config.doses], np.float64)
    s = len(offsets) - 1
    k = min(config.per_strain, len(conditions))
    pick = np.argsort(rng.random((s, len(conditions))), axis=1)[:, :k]  # k distinct conditions per strain
    strain = np.repeat(np.arange(s), k)
    temp, dose = conditions[pick.ravel(), 0], conditions[pick.ravel(), 1]

    sizes = np.diff(offsets)
    entry_strain = np.repeat(np.arange(s), sizes)
    heat_hits = np.bincount(entry_strain, weights=heat[genes], minlength=s)  # deleted heat-module genes
    hits_pathway = np.bincount(entry_strain, weights=pathway[genes], minlength=s) > 0
    heat_factor = (1.0 - config.heat_cost / (1.0 + np.exp(-(temp - config.heat_threshold)))) ** heat_hits[strain]
    hill = dose ** 2 / (dose ** 2 + config.ic50 ** 2)
    drug_factor = (1.0 - 0.1 * hill) * np.where(hits_pathway[strain], 1.0 - config.drug_cost * hill, 1.0)

    grown = labels[strain].copy()
    grown[:, 0] = grown[:, 0] * heat_factor * drug_factor
    new_sizes = sizes[strain]
    new_offsets = np.concatenate([[0], np.cumsum(new_sizes)])
    take = np.repeat(offsets[strain] - new_offsets[:-1], new_sizes) + np.arange(new_offsets[-1])
    n = len(strain)
    environment = Environment((
        EnvColumn("temperature", EnvKind.NUMERIC, temp, np.zeros(n, np.int32), (), "C"),
        EnvColumn("inhibitor", EnvKind.DOSE, dose, np.zeros(n, np.int32), ("inhibitor",), "uM"),
    ))
    return new_offsets, genes[take], grown, environment
