"""``cellreg data``: the study store (docs/store.md). Import published files with provenance, list and
show studies, query them with read-only SQL, remove one."""

from __future__ import annotations

import argparse
from pathlib import Path


def _value(text: str):
    """A TOML value (``3``, ``["a", "b"]``, ``{ column = "x" }``), or the text itself when it is none."""
    import tomli

    try:
        return tomli.loads(f"v = {text}")["v"]
    except tomli.TOMLDecodeError:
        return text


def _table_options(args) -> dict:
    import tomli

    options: dict = {}
    if args.options:
        options.update(tomli.loads(Path(args.options).read_text()))
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--option {item!r}: expected KEY=VALUE (the table source's options, TOML values)")
        options[key.strip()] = _value(value.strip())
    return options


def _cmd_import(args) -> int:
    from cellreg.store.formats import ImportOptions
    from cellreg.store.importer import import_file
    from cellreg.store.location import store_root

    from cellreg.store.formats.table import Table

    if (args.option or args.options) and args.format != Table.name:
        raise ValueError(f"--option / --options are the table format's column options, not {args.format}'s")
    options = ImportOptions(env=tuple(args.env), units=tuple(args.unit), phenotype=args.phenotype, kind=args.kind,
                            table=_table_options(args), condition_column=args.condition_column, control=args.control)
    result = import_file(store_root(args.store), args.format, Path(args.path), args.study, args.cite, args.license,
                         options)
    print(result.describe())
    return 0


def _cmd_ls(args) -> int:
    from cellreg.store.catalog import Store
    from cellreg.store.location import store_root
    from cellreg.store.views import ls

    print(ls(Store(store_root(args.store))))
    return 0


def _cmd_show(args) -> int:
    from cellreg.store.catalog import Store
    from cellreg.store.location import store_root
    from cellreg.store.views import show

    print(show(Store(store_root(args.store)), args.study))
    return 0


def _cmd_query(args) -> int:
    from cellreg.store.catalog import Store
    from cellreg.store.location import store_root
    from cellreg.store.views import query, table_text

    columns, rows = query(Store(store_root(args.store)), args.sql)
    if args.tsv:
        print("\t".join(columns))
        for r in rows:
            print("\t".join("" if v is None else str(v) for v in r))
    else:
        print(table_text(columns, rows))
    return 0


def _cmd_remove(args) -> int:
    from cellreg.store.catalog import Store
    from cellreg.store.location import store_root
    from cellreg.store.views import remove

    print(remove(Store(store_root(args.store)), args.study))
    return 0


def add_data_parser(sub) -> None:
    from cellreg.store.location import STORE_ENV

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="PATH", help=f"the store's folder (default: ${STORE_ENV}, else the user "
                        "data directory's cellreg/store)")
    d = sub.add_parser("data", help="the study store: import published studies with provenance, list, query (docs/store.md)")
    ds = d.add_subparsers(dest="data_command", required=True)
    im = ds.add_parser("import", parents=[common], help="import one file as (part of) a study")
    im.add_argument("format", metavar="FORMAT",
                    help="costanzo2016, kuzmin2018, kuzmin2020, dcell, table or h5ad")
    im.add_argument("path", metavar="FILE")
    im.add_argument("--study", required=True, help="the study's name (letters, digits, _ . -)")
    im.add_argument("--cite", help="citation or DOI (default: the format's publication)")
    im.add_argument("--license", help="a license note for the data")
    im.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="an environment every row shares: temperature=30C (a number and unit) or medium=YPD (repeatable)")
    im.add_argument("--unit", action="append", default=[], metavar="[PHENOTYPE=]UNIT", help="the unit of the values")
    im.add_argument("--phenotype", help="dcell, h5ad: the phenotype group's name (default score, expression)")
    im.add_argument("--kind", default="deletion", choices=["deletion", "knockdown", "overexpression", "addition"],
                    help="dcell, h5ad: the perturbation kind of every gene")
    im.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="table: one of the table source's options, a TOML value (genes=genes, "
                    "gene_columns='[\"a\", \"b\"]'); repeatable")
    im.add_argument("--options", metavar="FILE.toml", help="table: the table source's options from a TOML file")
    im.add_argument("--condition-column", default="condition", help="h5ad: the obs column of conditions")
    im.add_argument("--control", default="ctrl", help="h5ad: the condition naming the reference cells")
    im.set_defaults(func=_cmd_import)
    ls = ds.add_parser("ls", parents=[common], help="studies, rows, phenotypes, environments")
    ls.set_defaults(func=_cmd_ls)
    sh = ds.add_parser("show", parents=[common], help="one study's provenance, phenotypes, environments and files")
    sh.add_argument("study")
    sh.set_defaults(func=_cmd_show)
    q = ds.add_parser("query", parents=[common], help="read-only SQL over the catalog tables and the view `rows`")
    q.add_argument("sql")
    q.add_argument("--tsv", action="store_true", help="tab-separated output instead of a table")
    q.set_defaults(func=_cmd_query)
    rm = ds.add_parser("remove", parents=[common], help="delete a study and its files")
    rm.add_argument("study")
    rm.set_defaults(func=_cmd_remove)
