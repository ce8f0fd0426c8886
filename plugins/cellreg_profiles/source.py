"""PhenotypeSource ``profiles``: one profile file -> a table whose labels are the profile's features
(``<group>:<feature>``), each the strain's change from the reference in raw units."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np

from cellreg import Context, PhenotypeSource
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.data.profiles import Profiles, profile_table
from cellreg.toolkit.gene_names import GeneNames
from cellreg.toolkit.text_tables import suggest
from cellreg_profiles.configs import ProfilesConfig

if TYPE_CHECKING:
    from cellreg import CellGraph


def file_format(path: Path, configured: str) -> str:
    if configured != "auto":
        return configured
    suffix = path.suffix.lower()
    if suffix == ".h5ad":
        return "h5ad"
    if suffix in (".parquet", ".tsv", ".csv", ".txt"):
        return "table"
    raise ValueError(f"{path}: cannot tell the format from the suffix {suffix!r}; set format = \"h5ad\", "
                     "\"table\" or \"matrix\"")


def read_profiles(path: Path, config: ProfilesConfig) -> tuple[Profiles, dict[str, str]]:
    """The file's profiles and what reading it did (for ``report``)."""
    kind = file_format(path, config.format)
    notes = {}
    if kind == "h5ad":
        from cellreg_profiles.h5ad import read_h5ad

        profiles = read_h5ad(path, config)
    elif kind == "table":
        from cellreg_profiles.wide import read_wide

        profiles = read_wide(path, config)
    else:
        from cellreg_profiles.matrix import read_matrix

        profiles, skipped = read_matrix(path, config)
        notes["columns skipped (not a mutant's value)"] = f"{skipped:,}"
    return profiles, notes


def index_strains(profiles: Profiles, graph: CellGraph, path: Path, unknown: str,
                  aliases: Path | None = None) -> tuple[list[list[int]], np.ndarray]:
    """(gene indices per kept strain, kept rows); names match case-insensitively, and through the
    alias file when there is one (the deleteome names mutants by gene symbol)."""
    names = GeneNames.from_file(graph.genes, aliases) if aliases is not None else GeneNames(graph.genes, {})
    index = {g: names.one(g) for g in {g for s in profiles.strains for g in s}}
    bad = sorted(g for g, i in index.items() if i < 0)
    if bad and unknown == "error":
        examples = ", ".join(f"{g!r}{suggest(g, names.known)}" for g in bad[:5])
        raise ValueError(f"{path}: {len(bad)} perturbed gene name(s) not in the graph's vocabulary, e.g. {examples} "
                         "(unknown_genes = \"drop\" leaves their strains out; aliases = FILE maps other names)")
    keep = np.array([all(index[g] >= 0 for g in s) for s in profiles.strains], bool)
    sets = [sorted({index[g] for g in s}) for s, k in zip(profiles.strains, keep) if k]
    return sets, np.flatnonzero(keep)


class ProfilesSource(PhenotypeSource):
    def __init__(self, config: ProfilesConfig, context: Context) -> None:
        if config.reference_path is not None:  # relative to the config's folder, like path
            config = attrs.evolve(config, reference_path=str(context.resolve(config.reference_path)))
        self.config = config
        self.path = context.resolve(config.path)
        self.aliases = context.resolve(config.aliases) if config.aliases is not None else None
        self.reference: np.ndarray | None = None  # [F] raw reference profile, after load
        self._report: dict[str, str] = {}

    def check(self) -> list[str]:
        problems = [] if self.path.exists() else [f"phenotypes.path: no such file: {self.path}"]
        if self.config.reference_path is not None and not Path(self.config.reference_path).exists():
            problems.append(f"phenotypes.reference_path: no such file: {self.config.reference_path}")
        if self.aliases is not None and not self.aliases.exists():
            problems.append(f"phenotypes.aliases: no such file: {self.aliases}")
        return problems

    def describe(self) -> str:
        return str(self.config.path)

    def load(self, graph: CellGraph) -> PhenotypeTable:
        config = self.config
        profiles, notes = read_profiles(self.path, config)
        aliases = self.aliases
        sets, kept = index_strains(profiles, graph, self.path, config.unknown_genes, aliases)
        change = profiles.change[kept]
        self.reference = profiles.reference
        missing = int(np.isnan(change).sum())
        self._report = {
            "strains": f"{len(kept):,}", "features": f"{len(profiles.features):,}",
            "strains dropped (unknown genes)": f"{len(profiles.strains) - len(kept):,}",
            "NaN measurements in the file (masked)": f"{profiles.nan_count:,}",
            "strain x feature changes not measured (masked)": f"{missing:,} of {change.size:,}",
            **notes,
        }
        return profile_table(sets, change, config.group, profiles.features, graph.genes, config.unit)

    def report(self) -> dict[str, str]:
        return dict(self._report)

