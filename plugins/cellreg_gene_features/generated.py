"""Features made from the vocabulary alone: the representations a learned one is compared against."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cellreg import Context, FeatureSource, GeneFeatures
from cellreg_gene_features.configs import OneHotConfig, RandomFeaturesConfig


class OneHotFeatures(FeatureSource):
    def __init__(self, config: OneHotConfig, context: Context) -> None:
        pass

    def load(self, genes: Sequence[str]) -> GeneFeatures:
        return GeneFeatures(genes, np.eye(len(genes), dtype=np.float32), [f"onehot:{g}" for g in genes])


class RandomFeatures(FeatureSource):
    def __init__(self, config: RandomFeaturesConfig, context: Context) -> None:
        self.dim = config.dim
        self.seed = context.seed if config.seed is None else config.seed

    def load(self, genes: Sequence[str]) -> GeneFeatures:
        rng = np.random.default_rng([self.seed, 0xFEA7])
        values = (rng.standard_normal((len(genes), self.dim)) / np.sqrt(self.dim)).astype(np.float32)
        return GeneFeatures(genes, values, [f"random:{j}" for j in range(self.dim)])
