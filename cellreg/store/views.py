"""What ``cellreg data ls / show / query / remove`` print and do, on an open catalog."""

from __future__ import annotations

import shutil
from pathlib import Path

from cellreg.store.catalog import Store, write_schema

READ_ONLY = {"SELECT", "EXPLAIN"}


def known_studies(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT study FROM studies ORDER BY study").fetchall()]


def unknown_study(name: str, known: list[str], where: str) -> ValueError:
    from cellreg.toolkit.text_tables import suggest

    return ValueError(f"{where}: no study {name!r} in the store{suggest(name, known)}; its studies: "
                      f"{', '.join(known) or 'none (import one with cellreg data import)'}")


def table_text(columns: list[str], rows: list[tuple]) -> str:
    """A markdown table."""
    def cell(v) -> str:
        return "" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:g}" if isinstance(v, float) else str(v))

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def ls(store: Store) -> str:
    with store.read() as con:
        if con is None or not known_studies(con):
            return f"the store at {store.root} holds no study (cellreg data import FORMAT FILE --study NAME)"
        rows = con.execute("""
            SELECT s.study,
                   (SELECT count(*) FROM sources x WHERE x.study = s.study),
                   (SELECT sum(rows) FROM parts p WHERE p.study = s.study),
                   (SELECT string_agg(phenotype || CASE WHEN unit <> '' THEN ' (' || unit || ')' ELSE '' END, ', '
                           ORDER BY phenotype) FROM phenotypes p WHERE p.study = s.study),
                   (SELECT string_agg(DISTINCT CASE WHEN environment = '' THEN '(none)' ELSE environment END, '; ')
                      FROM environments e WHERE e.study = s.study)
            FROM studies s ORDER BY s.study""").fetchall()
    return f"store: {store.root}\n\n" + table_text(["study", "source files", "rows", "phenotypes", "environments"], rows)


def show(store: Store, study: str) -> str:
    with store.read() as con:
        known = known_studies(con) if con is not None else []
        if study not in known:
            raise unknown_study(study, known, "cellreg data show")
        out = [f"# study {study}", ""]
        cite, lic, created = con.execute("SELECT citation, license, created_at FROM studies WHERE study = ?",
                                         [study]).fetchone()
        out += [f"citation: {cite or '(none given)'}", f"license: {lic or '(none given; pass --license)'}",
                f"created: {created}", "", "## source files", ""]
        out.append(table_text(["source file", "format", "sha256", "bytes", "imported", "rows", "import"], con.execute(
            "SELECT file_name, format, sha256, size_bytes, imported_at, rows, import_id FROM sources WHERE study = ? "
            "ORDER BY imported_at", [study]).fetchall()))
        out += ["", "## phenotypes", ""]
        out.append(table_text(["phenotype", "unit", "shape", "statistics", "rows", "description"], con.execute(
            "SELECT p.phenotype, p.unit, p.shape, p.statistics, (SELECT sum(rows) FROM parts x WHERE x.study = p.study "
            "AND x.phenotype = p.phenotype), p.description FROM phenotypes p WHERE study = ? ORDER BY phenotype",
            [study]).fetchall()))
        out += ["", "## environment", ""]
        env = con.execute("SELECT name, kind, unit FROM env_columns WHERE study = ? ORDER BY name", [study]).fetchall()
        out.append(table_text(["column", "kind", "unit"], env) if env else "(none recorded)")
        out += [""]
        out.append(table_text(["phenotype", "environment", "rows"], con.execute(
            "SELECT phenotype, environment, sum(rows)::BIGINT FROM environments WHERE study = ? GROUP BY ALL "
            "ORDER BY ALL", [study]).fetchall()))
        out += ["", "## files", ""]
        out.append(table_text(["path", "rows", "bytes"], con.execute(
            "SELECT path, rows, bytes FROM parts WHERE study = ? ORDER BY path", [study]).fetchall()))
    return "\n".join(out)


def part_paths(store: Store, con, where: str = "", params: list | None = None) -> list[str]:
    return [str(store.root / r[0]) for r in con.execute(f"SELECT path FROM parts {where} ORDER BY path",
                                                        params or []).fetchall()]


def attach_rows(store: Store, con) -> None:
    """A temporary view ``rows`` over every part (hive columns ``study`` and ``phenotype`` included)."""
    paths = part_paths(store, con)
    if paths:
        files = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)  # a view takes no parameters
        con.execute(f"CREATE OR REPLACE TEMP VIEW rows AS SELECT * FROM read_parquet([{files}], "
                    "hive_partitioning = true, union_by_name = true)")


def query(store: Store, sql: str) -> tuple[list[str], list[tuple]]:
    """Run read-only SQL over the catalog tables and the ``rows`` view; any statement that would write
    is refused before anything runs."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ValueError(f"cellreg data query: {exc}") from None
    for i, st in enumerate(statements, 1):
        kind = st.type.name
        if kind not in READ_ONLY:
            raise ValueError(f"cellreg data query is read-only: statement {i} is {kind} ({str(st.query).strip()[:60]!r}); "
                             "only SELECT (and EXPLAIN) run here; change the store with cellreg data import / remove")
    if not statements:
        raise ValueError("cellreg data query: no SQL statement given")
    with store.read() as con:
        if con is None:
            raise ValueError(f"the store at {store.root} is empty (cellreg data import FORMAT FILE --study NAME)")
        attach_rows(store, con)
        result = None
        for st in statements:
            try:
                result = con.execute(st.query)
            except duckdb.Error as exc:
                raise ValueError(f"cellreg data query: {exc}") from None
        columns = [d[0] for d in result.description] if result.description else []
        return columns, result.fetchall()


def remove(store: Store, study: str) -> str:
    """Delete a study: its catalog rows in one transaction, then its files (a kill in between leaves
    files no row names, which the next writer deletes)."""
    with store.write() as con:
        known = known_studies(con)
        if study not in known:
            raise unknown_study(study, known, "cellreg data remove")
        paths = part_paths(store, con, "WHERE study = ?", [study])
        rows = con.execute("SELECT coalesce(sum(rows), 0) FROM parts WHERE study = ?", [study]).fetchone()[0]
        con.begin()
        for table in ("studies", "sources", "phenotypes", "parts", "env_columns", "environments"):
            con.execute(f"DELETE FROM {table} WHERE study = ?", [study])
        con.commit()
        for p in paths:
            Path(p).unlink(missing_ok=True)
        shutil.rmtree(store.data / f"study={study}", ignore_errors=True)
        write_schema(store, con)
    return f"removed study {study!r}: {len(paths)} files, {rows:,} rows"
