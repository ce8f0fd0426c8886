"""The data-source contracts and the build context, apart from the model parts: they import no
torch, so listing plugins and checking configs stay fast."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import attrs

from cellreg.data.records import GeneFeatures, NewStrains  # re-exported: what sources return

if TYPE_CHECKING:
    from cellreg.data.environment_columns import EnvironmentSpec
    from cellreg.data.environment_schema import EnvColumnSchema
    from cellreg.data.graph import CellGraph
    from cellreg.data.label_groups import LabelGroup
    from cellreg.data.phenotypes import PhenotypeTable
    from cellreg.plugin_api.contracts import Encoder
    from cellreg.plugin_api.registry import Registry


@attrs.define
class Context:
    """What a factory may need besides its own config. Fields fill in as the run is assembled:
    ``graph`` for ops and models, ``label_names`` for models, ``encoder`` for heads and loss terms,
    ``registry`` always (a source built of other plugins builds them through it)."""

    seed: int = 0
    base_dir: Path = Path(".")  # relative paths in a config resolve against the config's folder
    graph: CellGraph | None = None
    label_names: tuple[str, ...] = ()
    encoder: "Encoder | None" = None
    registry: "Registry | None" = None  # for sources made of other plugins (a composed graph)
    environment_column: "EnvColumnSchema | None" = None  # for an environment encoder: the column it encodes

    def resolve(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p


@attrs.frozen
class StrainColumns:
    """How a file of new strains (``cellreg predict``) names them: the column of genes joined by
    ``separator`` (or ``gene_columns``, one gene or joined genes each, as a table source reads
    them), and optionally a column of kinds joined the same way."""

    genes: str = "genes"
    separator: str = "+"
    kinds: str | None = None
    gene_columns: tuple[str, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(tuple))
    # the environment columns the run reads, as a file of new strains gives them (the core fills them
    # in from the run: a column per environment name; a dose as the compound plus `<name>_dose`)
    environment: tuple["EnvironmentSpec", ...] = attrs.field(default=(), converter=tuple)

    def table_options(self) -> dict:
        """These columns as :class:`~cellreg.data.strain_table.TableConfig` options."""
        if self.gene_columns:
            return {"genes": None, "gene_columns": list(self.gene_columns)}
        return {"genes": self.genes, "gene_columns": None}


class GraphSource:
    """Builds the organism's wild-type CellGraph. Runs once per run, before anything else."""

    def load(self) -> CellGraph:
        raise NotImplementedError

    def check(self) -> list[str]:
        """Cheap problems found before anything loads (a missing file), one line each naming the
        config key, e.g. ``graph.files[0].path: no such file: ...``; empty when none."""
        return []

    def report(self) -> dict[str, str]:
        """What the last :meth:`load` did that a user checking their data should see (rows read,
        replicates merged, unknown genes dropped), as ``{what: how many}``; ``cellreg inspect`` prints it."""
        return {}


class PhenotypeSource:
    """Loads strains and labels against the graph's gene vocabulary. Runs once per run.

    Unknown gene names must be counted and reported with examples (error or drop, per config).
    """

    def load(self, graph: CellGraph) -> PhenotypeTable:
        raise NotImplementedError

    def check(self) -> list[str]:
        """Cheap problems found before anything loads, as :meth:`GraphSource.check`."""
        return []

    def read_ahead(self) -> None:
        """Start, on a thread, the part of :meth:`load` that needs no graph, where it is cheap to tell
        that :meth:`load` will do it (a table that is not in the cache); :meth:`load` then takes what
        was read. ``cellreg inspect`` calls it once the config passed its checks, before it imports
        torch and builds the graph (a 20 M-row table's parse then overlaps them). Default: nothing."""

    def report(self) -> dict[str, str]:
        """What the last :meth:`load` did that a user checking their data should see (rows read,
        replicates merged, unknown genes dropped), as ``{what: how many}``; ``cellreg inspect`` prints it."""
        return {}

    def label_names(self) -> list[str] | None:
        """The labels :meth:`load` will provide, where that is cheap to tell (a table's header);
        None when only loading tells. ``cellreg validate`` and ``run`` check ``train.labels`` and
        ``train.select`` against them before any data loads."""
        return None

    def label_groups(self) -> list[LabelGroup] | None:
        """The label groups :meth:`load` will declare (a profile, labels that belong together), where
        that is cheap to tell: ``train.select`` may name one before any data loads. Empty (the default)
        when it declares none; None when only loading tells."""
        return []

    def describe(self) -> str:
        """Where the strains come from (a file as configured), for messages; "" when generated."""
        return ""

    def provenance(self) -> dict:
        """Where the last :meth:`load`'s strains came from beyond the config, as JSON data (a study
        store's studies, source files and their sha256); a run writes it to ``provenance.json``.
        Empty (the default): nothing to record."""
        return {}

    def environment_kinds(self) -> dict[str, str] | None:
        """The environment columns :meth:`load` will give, ``{name: kind}`` ("numeric",
        "categorical", "dose"), where the config tells them; None when only loading tells. The
        ``[[environment]]`` terms of a run config are checked against them before any data loads."""
        return None

    @property
    def reads_labelled_files(self) -> bool:
        """Whether this source overrides :meth:`read_labelled` (``[split] kind = "files"`` needs it)."""
        return type(self).read_labelled is not PhenotypeSource.read_labelled

    def read_labelled(self, path: Path, graph: CellGraph) -> PhenotypeTable:
        """Strains *with labels* from another file laid out like the training one, read with this
        source's own options: a benchmark's published test or validation file."""
        raise NotImplementedError

    def read_strains(self, path: Path, graph: CellGraph, columns: StrainColumns) -> NewStrains:
        """New strains to score, without labels: the core's delimited strain table by default.

        A source whose training data names genes its own way (suffixes, dropped markers, another
        delimiter) overrides this so new strains are read alike. Genes the graph lacks must be
        marked ``addition``; they are appended to the vocabulary.
        """
        from cellreg.data.strain_table import TableConfig, read_new_strains  # numpy only; graph-free

        config = TableConfig(str(path), **columns.table_options(), gene_separator=columns.separator,
                             kinds=columns.kinds, labels=[], unknown_genes="add", environment=list(columns.environment))
        return read_new_strains(path, graph, config)


class FeatureSource:
    """Per-gene input vectors (``[[features]]``): language-model embeddings, codon usage, one-hot.

    :meth:`load` gets the organism's vocabulary, so generated features (one-hot, random) cover it and
    files may hold genes it lacks (ignored). Genes left without a vector follow the table's
    ``missing`` policy, applied by the core."""

    def load(self, genes: Sequence[str]) -> GeneFeatures:
        raise NotImplementedError

    def check(self) -> list[str]:
        """Cheap problems found before anything loads, as :meth:`GraphSource.check`."""
        return []
