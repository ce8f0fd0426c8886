"""Small files in exactly the public formats the study store imports (shared by the store tests)."""

from __future__ import annotations

from pathlib import Path

COSTANZO_HEADER = ["Query Strain ID", "Query allele name", "Array Strain ID", "Array allele name", "Arraytype/Temp",
                   "Genetic interaction score (ε)", "P-value", "Query single mutant fitness (SMF)", "Array SMF",
                   "Double mutant fitness", "Double mutant fitness standard deviation"]
COSTANZO_ROWS = [
    ["YAL001C_tsq2", "tfc3-1", "YBR002W_dma1", "rer2", "TSA26", "-0.12", "0.01", "0.8", "0.9", "0.6", "0.05"],
    ["YAL001C_tsq2", "tfc3-1", "YCR003C_dma2", "mrpl32", "TSA30", "0.05", "0.2", "0.7", "0.95", "0.7", "0.02"],
    ["YDL001W_dma3", "rmd1", "YBR002W_dma1", "rer2", "DMA30", "NA", "", "0.99", "0.9", "0.88", "0.03"],
    ["YDL001W_dma3", "rmd1", "YBR002W_damp4", "rer2-damp", "DMA30", "0.02", "0.5", "0.99", "0.7", "0.7", "0.01"],
]
KUZMIN_HEADER = ["Query strain ID", "Query allele name", "Array strain ID", "Array allele name", "Combined mutant type",
                 "Raw genetic interaction score (epsilon)", "Adjusted genetic interaction score (epsilon or tau)",
                 "P-value", "Query single/double mutant fitness", "Array single mutant fitness",
                 "Combined mutant fitness", "Combined mutant fitness standard deviation"]
KUZMIN_ROWS = [
    ["YAL001C_tm1+YDL227C_y1", "tfc3+ho", "YBR002W_dma1", "rer2", "digenic", "-0.07", "-0.081", "0.01", "0.9", "0.95",
     "0.8", "0.02"],
    ["YAL001C_tm1+YCR003C_tm2", "tfc3+mrpl32", "YBR002W_dma1", "rer2", "trigenic", "-0.1", "-0.123", "0.002", "0.7",
     "0.95", "0.5", "0.03"],
]


def write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def costanzo(path: Path, rows: list[list[str]] = COSTANZO_ROWS) -> Path:
    return write_tsv(path, COSTANZO_HEADER, rows)


def kuzmin2020(path: Path) -> Path:
    return write_tsv(path, KUZMIN_HEADER, KUZMIN_ROWS)


def kuzmin2018(path: Path) -> Path:
    raw = KUZMIN_HEADER.index("Raw genetic interaction score (epsilon)")
    return write_tsv(path, KUZMIN_HEADER[:raw] + KUZMIN_HEADER[raw + 1:], [r[:raw] + r[raw + 1:] for r in KUZMIN_ROWS])
