"""The file formats ``cellreg data import`` reads, by name; each turns one file into store rows."""

from __future__ import annotations

from cellreg.store.formats.base import Format, ImportOptions
from cellreg.store.formats.costanzo import Costanzo2016
from cellreg.store.formats.dcell import DCell
from cellreg.store.formats.h5ad import H5ad
from cellreg.store.formats.kuzmin import Kuzmin2018, Kuzmin2020
from cellreg.store.formats.table import Table

FORMATS: dict[str, type[Format]] = {f.name: f for f in (Costanzo2016, Kuzmin2018, Kuzmin2020, DCell, Table, H5ad)}

__all__ = ["FORMATS", "Format", "ImportOptions"]
