"""Kuzmin et al. 2018 (Data S1) and 2020 (Table S1) trigenic tables: one row per query (one or two
genes joined by ``+``; the ``YDL227C`` marker, the HO locus, means "no second gene") and array.

Phenotypes: ``genetic_interaction`` (the adjusted score, ε for digenic rows and τ for trigenic ones,
with its P-value; 2020 also keeps the raw ε as ``raw``); ``fitness`` of the combined mutant (with its
standard deviation), of the query strain and of the array strain (kept once per strain). The files
name no environment: give one with ``--env`` (e.g. ``--env temperature=26C``).
"""

from __future__ import annotations

from typing import Iterator

from cellreg.store.formats.base import Format, SubstrainFitness, row_table
from cellreg.store.rows import IdParser, Part, Phenotype

Q, A, TYPE = "Query strain ID", "Array strain ID", "Combined mutant type"
ADJ, RAW, P = ("Adjusted genetic interaction score (epsilon or tau)", "Raw genetic interaction score (epsilon)",
               "P-value")
QF, AF, CF, CF_SD = ("Query single/double mutant fitness", "Array single mutant fitness", "Combined mutant fitness",
                     "Combined mutant fitness standard deviation")
MARKER = "YDL227C"
FITNESS = Phenotype("fitness", "relative to wild type", statistics=("sd",),
                    description="combined-mutant fitness (with its standard deviation), query and array fitness")


class Kuzmin2018(Format):
    citation = "Kuzmin et al. 2018, Science 360:eaao1729, doi:10.1126/science.aao1729"
    columns = (Q, A, TYPE, ADJ, P, QF, AF, CF, CF_SD)
    raw = False

    def parts(self) -> Iterator[Part]:
        stats = ("p_value", "raw") if self.raw else ("p_value",)
        interaction = Phenotype("genetic_interaction", "fitness", statistics=stats,
                                description="adjusted genetic interaction score (ε digenic, τ trigenic) with its P-value")
        singles = SubstrainFitness()
        parser = IdParser([MARKER], str(self.path))
        numbers = [ADJ, P, QF, AF, CF, CF_SD] + ([RAW] if self.raw else [])
        for _, batch in self.batches([Q, A, TYPE], numbers):
            strains = parser([batch[Q], batch[A]])
            extra = {"p_value": batch[P]} | ({"raw": batch[RAW]} if self.raw else {})
            yield self.with_constants(Part(interaction, row_table(strains, {}, batch[ADJ], extra)))
            yield self.with_constants(Part(FITNESS, row_table(strains, {}, batch[CF], {"sd": batch[CF_SD]})))
            singles.add(batch[Q], {}, batch[QF])
            singles.add(batch[A], {}, batch[AF])
        part = singles.part(FITNESS, {}, parser, FITNESS.statistics)
        if part is not None:
            yield self.with_constants(part)
        parser.warn()


class Kuzmin2020(Kuzmin2018):
    citation = "Kuzmin et al. 2020, Science 368:eaaz5667, doi:10.1126/science.aaz5667"
    columns = Kuzmin2018.columns + (RAW,)
    raw = True


__all__ = ["Kuzmin2018", "Kuzmin2020"]
