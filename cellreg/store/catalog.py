"""The catalog: one DuckDB file holding what the store knows (studies, their source files, phenotypes,
environment columns and the Parquet parts), opened briefly by each command under the store lock.

An import commits all its catalog rows in one transaction *before* its staged Parquet files are
renamed into ``data/``; :func:`recover` (run by every writer, and by a reader that finds staging
folders) finishes what a killed process left: it moves the parts of committed imports into place
and deletes the staging folders of uncommitted ones, whose owners are dead. So the store is always
either as before an import or as after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

from cellreg.store.lock import locked, try_lock

FORMAT_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS studies (study VARCHAR PRIMARY KEY, citation VARCHAR, license VARCHAR,
    created_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS sources (import_id VARCHAR PRIMARY KEY, study VARCHAR, format VARCHAR,
    file_name VARCHAR, sha256 VARCHAR, size_bytes BIGINT, options VARCHAR, imported_at TIMESTAMPTZ,
    citation VARCHAR, license VARCHAR, rows BIGINT, cellreg_version VARCHAR);
CREATE TABLE IF NOT EXISTS phenotypes (study VARCHAR, phenotype VARCHAR, unit VARCHAR, shape VARCHAR,
    statistics VARCHAR, description VARCHAR, PRIMARY KEY (study, phenotype));
CREATE TABLE IF NOT EXISTS parts (import_id VARCHAR, study VARCHAR, phenotype VARCHAR, path VARCHAR PRIMARY KEY,
    rows BIGINT, bytes BIGINT, digest VARCHAR);
CREATE TABLE IF NOT EXISTS env_columns (study VARCHAR, name VARCHAR, kind VARCHAR, unit VARCHAR,
    PRIMARY KEY (study, name));
CREATE TABLE IF NOT EXISTS environments (import_id VARCHAR, study VARCHAR, phenotype VARCHAR,
    environment VARCHAR, rows BIGINT);
"""


class Store:
    """The folders and files of one store; :meth:`read` and :meth:`write` open its catalog."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.catalog = self.root / "catalog.duckdb"
        self.data = self.root / "data"
        self.staging = self.root / "staging"
        self.lock = self.root / "store.lock"

    def exists(self) -> bool:
        return self.catalog.is_file()

    @contextlib.contextmanager
    def write(self) -> Iterator["duckdb.DuckDBPyConnection"]:  # noqa: F821
        """The catalog opened for writing, under the exclusive lock, after recovery."""
        import duckdb

        self.root.mkdir(parents=True, exist_ok=True)
        with locked(self.lock, exclusive=True):
            con = duckdb.connect(str(self.catalog))
            try:
                con.execute(SCHEMA)
                con.execute("INSERT OR IGNORE INTO store_meta VALUES ('format', ?)", [FORMAT_VERSION])
                recover(self, con)
                yield con
            finally:
                con.close()

    @contextlib.contextmanager
    def read(self) -> Iterator["duckdb.DuckDBPyConnection | None"]:  # noqa: F821
        """The catalog opened read-only under the shared lock (None when the store is empty); an
        interrupted import is first finished or undone."""
        import duckdb

        if self.exists() and self._has_staging():
            with self.write():
                pass
        if not self.exists():
            yield None
            return
        with locked(self.lock, exclusive=False):
            con = duckdb.connect(str(self.catalog), read_only=True)
            try:
                yield con
            finally:
                con.close()

    def _has_staging(self) -> bool:
        return self.staging.is_dir() and any(p.is_dir() for p in self.staging.iterdir())


def recover(store: Store, con) -> None:
    """Finish committed imports (move their staged parts into ``data/``), undo dead uncommitted ones
    (delete their staging folders) and delete parts no catalog row names (a ``remove`` killed after
    its commit). Runs under the exclusive lock."""
    changed = False
    if store.staging.is_dir():
        committed = {r[0] for r in con.execute("SELECT DISTINCT import_id FROM sources").fetchall()}
        for folder in [p for p in store.staging.iterdir() if p.is_dir()]:
            fd = try_lock(store.staging / f"{folder.name}.lock")
            if fd is None and (store.staging / f"{folder.name}.lock").exists():
                continue  # a live import still writing it
            try:
                if folder.name in committed:
                    _move_parts(store, con, folder.name)
                    changed = True
                shutil.rmtree(folder, ignore_errors=True)
                (store.staging / f"{folder.name}.lock").unlink(missing_ok=True)
            finally:
                if fd is not None:
                    os.close(fd)
    if store.data.is_dir():
        known = {r[0] for r in con.execute("SELECT path FROM parts").fetchall()}
        for path in store.data.rglob("*.parquet"):
            if path.relative_to(store.root).as_posix() not in known:
                path.unlink()
                changed = True
    if changed:
        write_schema(store, con)


def write_schema(store: Store, con) -> None:
    """``data/_common_metadata``: the schema of every part together, with the partition columns, so an
    engine reading the whole store sees every study's columns (pyarrow.dataset's ``schema=``); readers
    skip files starting with ``_``. Rewritten by every writer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cellreg.toolkit.atomic import atomic_write

    paths = [store.root / r[0] for r in con.execute("SELECT path FROM parts ORDER BY path").fetchall()]
    target = store.data / "_common_metadata"
    if not paths:
        target.unlink(missing_ok=True)
        return
    try:
        schema = pa.unify_schemas([pq.read_schema(p).remove_metadata() for p in paths if p.exists()])
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # one column name, two types in two studies
        import logging

        logging.getLogger("cellreg").warning("the store's studies disagree on a column's type (%s): no "
                                             "data/_common_metadata; read one study at a time", exc)
        target.unlink(missing_ok=True)
        return
    schema = schema.append(pa.field("study", pa.string())).append(pa.field("phenotype", pa.string()))
    atomic_write(target, lambda tmp: pq.write_metadata(schema, tmp))


def _move_parts(store: Store, con, import_id: str) -> None:
    for (rel,) in con.execute("SELECT path FROM parts WHERE import_id = ?", [import_id]).fetchall():
        final = store.root / rel
        staged = store.staging / import_id / Path(rel).relative_to("data")
        if staged.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
