"""Config tables of this plugin, apart from the code they configure: listing plugins and
checking configs import no torch."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from cellreg.toolkit.text_tables import not_empty

Format = Literal["auto", "h5ad", "table", "matrix"]


@attrs.frozen
class ProfilesConfig:
    """``[phenotypes] name = "profiles"``: one profile file, read into labels ``<group>:<feature>``.

    ``format`` (auto: by the file's suffix, ``.h5ad``, ``.parquet``/``.tsv``/``.csv``/``.txt``; a
    matrix must be named): ``h5ad`` (AnnData, GEARS convention: ``obs[condition_column]`` holds the
    perturbed genes joined by ``separator``, ``control`` the reference cells; ``var[feature_column]``
    names the features), ``table`` (one row per strain, one column per feature: CalMorph), ``matrix``
    (one row per feature, one column per mutant: the deleteome's log ratios).
    """

    path: str
    group: str = attrs.field(default="profile", validator=not_empty)
    unit: str = ""  # the features' raw unit, for reports ("log2 ratio", "um")
    format: Format = "auto"
    separator: str = "+"
    unknown_genes: Literal["error", "drop"] = "error"
    aliases: str | None = None  # a file: a name as the profile file spells it, then the vocabulary's (ADH1 YOL086C)
    # h5ad
    condition_column: str = "condition"
    feature_column: str = "gene_name"  # a var column; "" = var_names
    control: str = "ctrl"
    chunk_cells: int = attrs.field(default=20_000, validator=attrs.validators.ge(1))  # backed reading
    # table
    strain_column: str = "strain"
    features: list[str] = attrs.field(factory=list)  # table: feature columns; [] = every other column
    ignore_columns: list[str] = attrs.field(factory=list)
    reference: list[str] = attrs.field(factory=list)  # table: strain names of the reference rows (e.g. "WT")
    reference_path: str | None = None  # table: a file of reference rows laid out like `path`
    values: Literal["absolute", "change"] = "absolute"  # table: "change" = the file holds changes already
    # matrix
    feature_id_column: str = "systematicName"
    value_type: str = "M"  # the second header row's data type to keep ("" = a one-row header)
    mutant_pattern: str = r"^(.+?)-del(?: vs\. wt)?$"  # a column name -> the deleted gene (group 1)

    def __attrs_post_init__(self) -> None:
        if ":" in self.group or "." in self.group:
            raise ValueError(f"'group' must not contain ':' or '.', got {self.group!r}")
        if self.values == "change" and (self.reference or self.reference_path):
            raise ValueError("values = \"change\" takes no reference rows (the file holds changes already)")


@attrs.frozen
class VectorHeadConfig:
    """``[model.head] name = "vector"``: any family's head, read out into a profile."""

    inner: dict[str, Any] = attrs.field(validator=not_empty)  # the family's head table: {name = "sum_mlp", ...}
    rank: int = attrs.field(default=64, validator=attrs.validators.ge(1))  # the inner head's output width
    hidden: int = attrs.field(default=0, validator=attrs.validators.ge(0))  # 0: a linear readout
    dropout: float = attrs.field(default=0.0, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.lt(1.0)))
