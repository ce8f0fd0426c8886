"""How strains are divided: the ``[split]`` table, a schema with no behaviour (see :mod:`cellreg.data.splits`)."""

from __future__ import annotations

from typing import Literal

import attrs

SplitKind = Literal["random", "gene_held_out", "pair_disjoint", "column", "files", "environment",
                    "environment_transfer"]
ENVIRONMENT_SPLITS = ("environment", "environment_transfer")  # cellreg.data.environment_splits
PUBLISHED = ("column", "files")  # a benchmark's own split, used as it is (cellreg.data.published_splits)


@attrs.frozen
class SplitConfig:
    """How strains are divided. ``cache_dir`` = "" disables the on-disk cache."""

    kind: SplitKind = "random"
    val_fraction: float = attrs.field(default=0.1, validator=attrs.validators.and_(
        attrs.validators.gt(0.0), attrs.validators.lt(1.0)))  # an empty validation set selects nothing
    test_fraction: float = attrs.field(default=0.1, validator=attrs.validators.and_(
        attrs.validators.gt(0.0), attrs.validators.lt(1.0)))
    seed: int = 0
    cache_dir: str = ""
    column: str = "split"  # kind = "column": the table's column saying train, val or test per row
    test: str | None = None  # kind = "files": the published test strains, read like the main table
    val: str | None = None  # kind = "files", optional: published validation strains (else carved from train)
    # column / files: a test strain whose set is also in training or validation is an error, unless
    # the config says to drop those training and validation rows
    overlap: Literal["error", "drop_from_train"] = "error"
    # "drop": every input graph loses the edges joining two genes of one validation or test strain
    # (a genetic-interaction network made from the labels' own screens would feed the test label in)
    held_out_edges: Literal["keep", "drop"] = "keep"
    # kind = "environment": strains under these values of environment column `environment` are the
    # test set (and, optionally, val_values the validation set; else it is carved from training)
    environment: str | None = None
    test_values: list[str] = attrs.field(factory=list)
    val_values: list[str] = attrs.field(factory=list)
    # column / files: cross-validation of the carve. With folds = K >= 2 the training rows (whole
    # perturbation sets) are dealt into K disjoint folds by `seed` and validation is fold `fold`
    # (val_fraction unused): K runs, fold 0..K-1, score every training row once, out of fold.
    folds: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    fold: int = attrs.field(default=0, validator=attrs.validators.ge(0))

    def __attrs_post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("val_fraction + test_fraction must leave some strains for training")
        if self.kind == "files" and self.test is None:
            raise ValueError('kind = "files" needs test = "path" (the published test strains)')
        if self.kind != "files" and (self.test is not None or self.val is not None):
            raise ValueError('test and val files belong to kind = "files"')
        if self.folds == 1 or (self.folds and self.fold >= self.folds) or (not self.folds and self.fold):
            raise ValueError(f"folds = {self.folds}, fold = {self.fold}: cross-validation needs folds >= 2 and "
                             "0 <= fold < folds")
        if self.folds and (self.kind not in PUBLISHED or self.val is not None):
            raise ValueError('folds carve validation out of a published split\'s training rows: kind = "files" '
                             'or "column", with no val file')
        if self.kind == "environment":
            if not self.environment or not self.test_values:
                raise ValueError('kind = "environment" needs environment = "<column>" and test_values = [...] (the '
                                 "values held out for testing, e.g. [\"26\"] to train at other temperatures)")
            if set(self.test_values) & set(self.val_values):
                raise ValueError(f"values both in test_values and val_values: "
                                 f"{sorted(set(self.test_values) & set(self.val_values))}")
        elif self.environment is not None or self.test_values or self.val_values:
            raise ValueError('environment, test_values and val_values belong to kind = "environment"')
