"""Costanzo et al. 2016 (Science 353:aaf1420) pairwise SGA tables (``SGA_ExE.txt``, ``SGA_ExN_NxE.txt``,
``SGA_NxN.txt``): one row per query-array pair and screen.

Phenotypes: ``genetic_interaction`` (ε, with its P-value) of the pair; ``fitness`` of the pair
(double-mutant fitness, with its standard deviation) and of each single mutant (the query's and the
array's SMF, kept once per strain and screen). The environment is the screen, from
``Arraytype/Temp``: ``array_type`` (DMA, TSA) and ``temperature`` (°C).
"""

from __future__ import annotations

import re
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cellreg.store.formats.base import Format, SubstrainFitness, row_table
from cellreg.store.rows import IdParser, Part, Phenotype

Q, A, SCREEN = "Query Strain ID", "Array Strain ID", "Arraytype/Temp"
EPS, P = "Genetic interaction score (ε)", "P-value"
QSMF, ASMF, DMF, DMF_SD = ("Query single mutant fitness (SMF)", "Array SMF", "Double mutant fitness",
                           "Double mutant fitness standard deviation")
SCREEN_TEXT = re.compile(r"^([A-Za-z]+)\s*(\d+(?:\.\d+)?)$")  # DMA26: array type + temperature (°C)
ENV = {"array_type": ("categorical", ""), "temperature": ("numeric", "C")}
INTERACTION = Phenotype("genetic_interaction", "fitness", statistics=("p_value",),
                        description="genetic interaction score ε (with its P-value)")
FITNESS = Phenotype("fitness", "relative to wild type", statistics=("sd",),
                    description="double-mutant fitness (with its standard deviation) and single-mutant fitness")


def screen_environment(column: pa.Array, first_row: int, where: str) -> dict[str, pa.Array]:
    """``DMA30`` -> array_type ``DMA``, temperature 30: parsed once per distinct screen."""
    enc = pc.dictionary_encode(column)
    arrays, temps = [], []
    for v in enc.dictionary.to_pylist():
        m = SCREEN_TEXT.match(v.strip())
        if m is None:
            row = first_row + int(np.flatnonzero(np.asarray(enc.indices) == len(arrays))[0])
            raise ValueError(f"{where}: line {row + 2}, column {SCREEN!r}: {v!r} is not an array type and a "
                             "temperature (DMA26, DMA30, TSA26, TSA30)")
        arrays.append(m.group(1).upper())
        temps.append(float(m.group(2)))
    kinds = sorted(set(arrays))
    codes = np.array([kinds.index(a) for a in arrays], np.int32)
    idx = np.asarray(enc.indices)
    return {"array_type": pa.DictionaryArray.from_arrays(pa.array(codes[idx]), pa.array(kinds, pa.string())),
            "temperature": pa.array(np.asarray(temps, np.float64)[idx])}


class Costanzo2016(Format):
    citation = "Costanzo et al. 2016, Science 353:aaf1420, doi:10.1126/science.aaf1420"
    columns = (Q, A, SCREEN, EPS, P, QSMF, ASMF, DMF, DMF_SD)

    def parts(self) -> Iterator[Part]:
        singles = SubstrainFitness()
        where = str(self.path)
        parser = IdParser(where=where)
        for start, batch in self.batches([Q, A, SCREEN], [EPS, P, QSMF, ASMF, DMF, DMF_SD]):
            q, a = pc.dictionary_encode(batch[Q]), pc.dictionary_encode(batch[A])  # once, for both steps
            strains = parser([q, a])
            env = screen_environment(batch[SCREEN], start, where)
            yield self.with_constants(Part(INTERACTION, row_table(strains, env, batch[EPS], {"p_value": batch[P]}), ENV))
            yield self.with_constants(Part(FITNESS, row_table(strains, env, batch[DMF], {"sd": batch[DMF_SD]}), ENV))
            singles.add(q, env, batch[QSMF])
            singles.add(a, env, batch[ASMF])
        part = singles.part(FITNESS, ENV, parser, FITNESS.statistics)
        if part is not None:
            yield self.with_constants(part)
        parser.warn()
