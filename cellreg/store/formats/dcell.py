"""DCell's train/test files (Ma et al. 2018, Nat Methods 15:290): ``<k> <gene_1> … <gene_k> <score>``
per line, whitespace-separated, no header. Every row is one phenotype (``--phenotype``, default
``score``); all genes take ``--kind`` (default deletion)."""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cellreg.store.formats.base import Format, row_table
from cellreg.store.rows import KIND_NAMES, Part, Phenotype, check_name, strains_from_sets


class DCell(Format):
    citation = "Ma et al. 2018, Nat Methods 15:290-298, doi:10.1038/nmeth.4627"

    def check(self) -> None:
        if not self.path.is_file():
            raise ValueError(f"{self.path}: no such file")

    def _lines(self) -> pa.Array:
        import pyarrow.csv as csv

        table = csv.read_csv(self.path, read_options=csv.ReadOptions(column_names=["line"]),
                             parse_options=csv.ParseOptions(delimiter="\x1f", quote_char=False, ignore_empty_lines=False),
                             convert_options=csv.ConvertOptions(column_types={"line": pa.string()},
                                                                strings_can_be_null=False))
        return table["line"].combine_chunks()

    def parts(self) -> Iterator[Part]:
        name = check_name("--phenotype", self.options.phenotype or "score")
        lines = self._lines()
        fields = pc.utf8_split_whitespace(lines)
        width = np.asarray(pc.list_value_length(fields))
        used = np.flatnonzero(width > 0)  # blank lines
        flat = fields.flatten()
        start = np.asarray(fields.offsets)[:-1]
        first = flat.take(pa.array(start[used]))
        try:
            k = np.asarray(pc.cast(first, pa.int64()))
        except pa.ArrowInvalid:
            k = np.full(len(used), -1)
        bad = np.flatnonzero((k < 0) | (width[used] != k + 2))
        if len(bad):
            line = int(used[bad[0]]) + 1
            raise ValueError(f"{self.path}: line {line}: expected '<k> <gene_1> ... <gene_k> <score>' (the dcell format), "
                             f"got {lines[int(used[bad[0]])].as_py()!r}")
        score_at = start[used] + width[used] - 1
        try:
            score = pc.cast(flat.take(pa.array(score_at)), pa.float64())
        except pa.ArrowInvalid:
            raise ValueError(f"{self.path}: the last field of a line is not a number (the dcell format ends each "
                             "line with the score)") from None
        sizes = k.astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        entry_row = np.repeat(np.arange(len(used)), sizes)
        within = np.arange(int(offsets[-1])) - offsets[:-1][entry_row]
        names = flat.take(pa.array(start[used][entry_row] + 1 + within))
        enc = pc.dictionary_encode(names)
        kinds = np.full(len(entry_row), KIND_NAMES.index(self.options.kind), np.int8)
        strains = strains_from_sets(offsets, np.asarray(enc.indices), enc.dictionary.to_pylist(), kinds)
        yield self.with_constants(Part(Phenotype(name, description="DCell data file score"),
                                       row_table(strains, {}, score, {})))
