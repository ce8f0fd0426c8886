"""``[[features]] name = "file"``: the core's vector-file reader over one or more shards."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cellreg import Context, FeatureSource, GeneFeatures
from cellreg.data.vector_files import read_vectors
from cellreg_gene_features.configs import FileFeaturesConfig


class FileFeatures(FeatureSource):
    def __init__(self, config: FileFeaturesConfig, context: Context) -> None:
        self.paths = [context.resolve(p) for p in config.paths]
        self.genes = [context.resolve(g) for g in config.genes] if config.genes is not None else [None] * len(self.paths)

    def check(self) -> list[str]:
        return [f"paths[{i}]: no such file: {p}" for i, p in enumerate(self.paths) if not p.is_file()]

    def load(self, genes: Sequence[str]) -> GeneFeatures:
        shards = [read_vectors(p, g) for p, g in zip(self.paths, self.genes)]
        first = shards[0]
        seen = {g: self.paths[0] for g in first.genes}
        for path, shard in zip(self.paths[1:], shards[1:]):
            if len(shard.columns) != len(first.columns):
                raise ValueError(f"{path}: {len(shard.columns)} columns, but {self.paths[0]} has {len(first.columns)}; "
                                 "the paths of one [[features]] table are shards of the same vectors")
            twice = next((g for g in shard.genes if g in seen), None)
            if twice is not None:
                raise ValueError(f"{path}: gene {twice!r} also has a vector in {seen[twice]}")
            seen.update(dict.fromkeys(shard.genes, path))
        if len(shards) == 1:
            return first
        return GeneFeatures([g for s in shards for g in s.genes], np.concatenate([s.values for s in shards]),
                            first.columns)
