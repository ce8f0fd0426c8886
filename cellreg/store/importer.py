"""``cellreg data import``: one file into the store, all or nothing.

1. Check the file against its format (missing columns listed) and hash it (sha256); the same file
   imported with the same format and options before is a no-op, reported as such.
2. Stream its rows into Parquet files in ``staging/<import>/`` (no lock held, so imports of
   different files parse side by side), holding ``staging/<import>.lock`` so recovery leaves it alone.
3. Under the store's exclusive lock: check again, insert every catalog row in one DuckDB
   transaction, commit, then rename the files into ``data/``. A process killed before the commit
   leaves the catalog and ``data/`` untouched (its staging folder is deleted by the next writer);
   one killed after it is finished by the next command (:func:`cellreg.store.catalog.recover`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cellreg.store.catalog import Store, write_schema
from cellreg.store.formats import FORMATS, ImportOptions
from cellreg.store.rows import Part, Phenotype, check_name

PAUSE_ENV = "CELLREG_STORE_TEST_PAUSE"  # "staged" or "committed": the crash tests stop an import there
# list columns: genes and alleles as plain text (Parquet dictionary-encodes them itself, faster than
# writing Arrow dictionaries), kinds as a dictionary of the four names
LIST_TYPES = {"genes": pa.list_(pa.string()), "alleles": pa.list_(pa.string()),
              "kinds": pa.list_(pa.dictionary(pa.int8(), pa.string()))}


@attrs.frozen
class ImportResult:
    study: str
    import_id: str
    noop: bool
    rows: dict[str, int]  # per phenotype
    file: str
    sha256: str

    def describe(self) -> str:
        if self.noop:
            return (f"{self.file} (sha256 {self.sha256[:12]}) is already in the store as study {self.study!r} "
                    f"(import {self.import_id}): nothing to do")
        per = ", ".join(f"{p} {n:,}" for p, n in self.rows.items())
        return f"imported {self.file} into study {self.study!r}: {sum(self.rows.values()):,} rows ({per})"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def import_file(root: Path, format_name: str, path: Path, study: str, cite: str | None = None,
                license: str | None = None, options: ImportOptions = ImportOptions()) -> ImportResult:
    from cellreg.toolkit.text_tables import suggest

    store, path = Store(root), Path(path)
    check_name("--study", study)
    if format_name not in FORMATS:
        raise ValueError(f"unknown format {format_name!r}{suggest(format_name, list(FORMATS))}; formats: "
                         f"{', '.join(FORMATS)}")
    fmt = FORMATS[format_name](path, options)
    fmt.check()
    digest = sha256(path)
    key = json.dumps({"format": format_name, "options": options.key()}, sort_keys=True)
    earlier = _earlier(store, digest, key)
    if earlier is not None:
        return ImportResult(earlier[0], earlier[1], True, {}, path.name, digest)
    import_id = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:8]
    store.staging.mkdir(parents=True, exist_ok=True)
    lock_path = store.staging / f"{import_id}.lock"
    from cellreg.store.lock import locked

    try:
        with locked(lock_path, exclusive=True):
            folder = store.staging / import_id
            try:
                staged = _stage(fmt, folder, study, import_id, options)
                _pause("staged")
                with store.write() as con:
                    earlier = _earlier_con(con, digest, key)
                    if earlier is not None:
                        return ImportResult(earlier[0], earlier[1], True, {}, path.name, digest)
                    _check_compatible(con, study, staged)
                    con.begin()
                    _insert(con, study, import_id, format_name, path, digest, key,
                            cite if cite is not None else fmt.citation, license or "", staged)
                    con.commit()
                    _pause("committed")
                    for rel in staged.files:
                        final = store.root / rel
                        final.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(folder / Path(rel).relative_to("data"), final)
                    write_schema(store, con)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        lock_path.unlink(missing_ok=True)
    return ImportResult(study, import_id, False, {p.name: n for p, n in staged.rows.items()}, path.name, digest)


def _pause(point: str) -> None:
    if os.environ.get(PAUSE_ENV) == point:
        print(f"cellreg-store-paused {point}", file=sys.stderr, flush=True)
        time.sleep(600)


def _earlier(store: Store, digest: str, key: str) -> tuple[str, str] | None:
    with store.read() as con:
        return None if con is None else _earlier_con(con, digest, key)


def _earlier_con(con, digest: str, key: str) -> tuple[str, str] | None:
    row = con.execute("SELECT study, import_id FROM sources WHERE sha256 = ? AND options = ?", [digest, key]).fetchone()
    return None if row is None else (row[0], row[1])


@attrs.define
class Staged:
    """What an import wrote into its staging folder."""

    rows: dict[Phenotype, int] = attrs.field(factory=dict)
    files: list[str] = attrs.field(factory=list)  # paths relative to the store root, data/study=.../part-...
    bytes: dict[str, int] = attrs.field(factory=dict)
    digests: dict[str, str] = attrs.field(factory=dict)
    env: dict[str, tuple[str, str]] = attrs.field(factory=dict)
    environments: dict[tuple[str, str], int] = attrs.field(factory=dict)  # (phenotype, text) -> rows


def _stage(fmt, folder: Path, study: str, import_id: str, options: ImportOptions) -> Staged:
    import pyarrow.parquet as pq

    from cellreg.toolkit.table_cache import file_digest

    from concurrent.futures import ThreadPoolExecutor

    staged = Staged()
    writers: dict[str, tuple] = {}
    by_name: dict[str, Phenotype] = {}
    pending: list = []
    pool = ThreadPoolExecutor(max_workers=1)  # Parquet writes (GIL released) overlap parsing the next batch
    try:
        for part in fmt.parts():
            ph = attrs.evolve(part.phenotype, unit=options.unit_for(part.phenotype.name, part.phenotype.unit))
            if by_name.setdefault(ph.name, ph) != ph:
                raise AssertionError(f"format {fmt.name}: phenotype {ph.name!r} declared two ways")
            for name, meta in part.env.items():
                if staged.env.setdefault(name, meta) != meta:
                    raise AssertionError(f"format {fmt.name}: environment {name!r} declared two ways")
            table = _conform(part, ph.unit, staged.env)
            if ph.name not in writers:
                rel = f"data/study={study}/phenotype={ph.name}/part-{import_id}.parquet"
                target = folder / Path(rel).relative_to("data")
                target.parent.mkdir(parents=True, exist_ok=True)
                writers[ph.name] = (pq.ParquetWriter(target, table.schema, compression="snappy"), table.schema, rel,
                                    target)
                staged.rows[ph] = 0
            writer, schema, _, _ = writers[ph.name]
            if table.schema.names != schema.names:
                table = table.select(schema.names)
            pending.append(pool.submit(writer.write_table, table.cast(schema)))
            while len(pending) > 2:  # bounded: at most two batches wait in memory
                pending.pop(0).result()
            staged.rows[ph] += table.num_rows
            _count_environments(table, ph.name, staged.environments)
        for f in pending:
            f.result()
    finally:
        pool.shutdown(wait=True)
        for writer, *_ in writers.values():
            writer.close()
    for _, _, rel, target in writers.values():
        staged.files.append(rel)
        staged.bytes[rel] = target.stat().st_size
        staged.digests[rel] = file_digest(target)
    if not staged.rows:
        raise ValueError(f"{fmt.path}: no rows to import")
    return staged


def _conform(part: Part, unit: str, env: dict[str, tuple[str, str]]) -> pa.Table:
    """The store's column types (dictionary-encoded text), rows without a finite value dropped, ``unit`` added."""
    t = part.table
    keep = pc.fill_null(pc.is_finite(t["value"]), False)
    if not pc.all(keep).as_py():
        t = t.filter(keep)
    cols, fields = [], []
    for name in t.column_names:
        col = t[name]
        if name in LIST_TYPES:
            typ = LIST_TYPES[name]
        elif name == "feature" or (name.startswith("env.") and env.get(name[4:], ("numeric",))[0] != "numeric"
                                   and not name.endswith(".dose")):
            typ = pa.dictionary(pa.int32(), pa.string())
            if not pa.types.is_dictionary(col.type):
                col = pc.dictionary_encode(col)
        else:
            typ = pa.float64()
        cols.append(col.cast(typ))
        fields.append(pa.field(name, typ))
        if name == "value":
            cols.append(pa.DictionaryArray.from_arrays(pa.array(np.zeros(t.num_rows, np.int8)), pa.array([unit])))
            fields.append(pa.field("unit", pa.dictionary(pa.int8(), pa.string())))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def environment_text(table: pa.Table) -> list[str]:
    """Each row's environment as text (``array_type=DMA, temperature=30``), for tables of few rows."""
    names = [c for c in table.column_names if c.startswith("env.")]
    rows = table.select(names).to_pylist()
    return [", ".join(f"{k[4:]}={_fmt(v)}" for k, v in r.items() if v is not None) for r in rows]


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _count_environments(table: pa.Table, phenotype: str, out: dict[tuple[str, str], int]) -> None:
    from cellreg.store.rows import count_keys, digits, undigit

    names = [c for c in table.column_names if c.startswith("env.")]
    if not names:
        out[(phenotype, "")] = out.get((phenotype, ""), 0) + table.num_rows
        return
    key, dictionaries, dims = digits([table[c] for c in names])
    present, count = count_keys(key, dims)
    values = pa.table(dict(zip(names, undigit(present, dictionaries, dims))))
    for text, n in zip(environment_text(values), count.tolist()):
        out[(phenotype, text)] = out.get((phenotype, text), 0) + n


def _check_compatible(con, study: str, staged: Staged) -> None:
    """A second file of a study must agree with the first on each shared phenotype's unit and shape
    and on each shared environment column's kind and unit."""
    for ph in staged.rows:
        row = con.execute("SELECT unit, shape FROM phenotypes WHERE study = ? AND phenotype = ?", [study, ph.name]).fetchone()
        if row is not None and tuple(row) != (ph.unit, ph.shape):
            raise ValueError(f"study {study!r} already has phenotype {ph.name!r} as a {row[1]} in unit {row[0]!r}; this "
                             f"file gives a {ph.shape} in unit {ph.unit!r} (give --unit, or import it as another study)")
    for name, (kind, unit) in staged.env.items():
        row = con.execute("SELECT kind, unit FROM env_columns WHERE study = ? AND name = ?", [study, name]).fetchone()
        if row is not None and tuple(row) != (kind, unit):
            raise ValueError(f"study {study!r} already has environment column {name!r} as {row[0]} in {row[1]!r}; "
                             f"this file gives {kind} in {unit!r}")


def _insert(con, study: str, import_id: str, format_name: str, path: Path, digest: str, key: str, cite: str,
            license: str, staged: Staged) -> None:
    from cellreg import __version__

    now = datetime.now(timezone.utc)
    con.execute("INSERT OR IGNORE INTO studies VALUES (?, ?, ?, ?)", [study, cite, license, now])
    con.execute("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [import_id, study, format_name, path.name, digest, path.stat().st_size, key, now, cite, license,
                 sum(staged.rows.values()), __version__])
    for ph in staged.rows:
        con.execute("INSERT OR IGNORE INTO phenotypes VALUES (?, ?, ?, ?, ?, ?)",
                    [study, ph.name, ph.unit, ph.shape, ",".join(ph.statistics), ph.description])
    for rel, (ph, n) in zip(staged.files, staged.rows.items()):
        con.execute("INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [import_id, study, ph.name, rel, n, staged.bytes[rel], staged.digests[rel]])
    for name, (kind, unit) in staged.env.items():
        con.execute("INSERT OR IGNORE INTO env_columns VALUES (?, ?, ?, ?)", [study, name, kind, unit])
    for (phenotype, text), n in staged.environments.items():
        con.execute("INSERT INTO environments VALUES (?, ?, ?, ?, ?)", [import_id, study, phenotype, text, n])
