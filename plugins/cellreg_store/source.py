"""PhenotypeSource ``store``: strains and labels from studies of the study store.

The catalog says which Parquet parts hold the chosen studies and phenotypes; they are read under the
store's shared lock (a concurrent ``remove`` waits), genes are looked up once per distinct name of
each Parquet dictionary, and the rows become strains by :mod:`cellreg_store.merge`. The result is
cached by the parts' content like a table file's; :meth:`StoreSource.provenance` is what the run
records: the studies, their source files and sha256, and the parts read.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cellreg import Context, PhenotypeSource
from cellreg.data.phenotypes import Perturbation, PhenotypeTable
from cellreg_store.configs import StoreConfig
from cellreg_store.merge import drop_repeated_genes, merge_rows

READING_CODE = ("cellreg_store.source", "cellreg_store.merge", "cellreg.store.envflat", "cellreg.data.replicates",
                "cellreg.data.environment")


@attrs.frozen
class Plan:
    """What the catalog says a load reads."""

    parts: list[tuple[str, str, str, str]]  # (study, phenotype, path, digest)
    phenotypes: dict[str, tuple[str, str]]  # name -> (unit, shape), in the order of the labels
    env: dict[str, tuple[str, str]]  # env column -> (kind, unit), over the studies
    sources: list[dict]


class StoreSource(PhenotypeSource):
    def __init__(self, config: StoreConfig, context: Context):
        from cellreg.store.catalog import Store
        from cellreg.store.location import store_root

        self.config = config
        self.store = Store(store_root(context.resolve(config.store) if config.store else None))
        self.stats: dict[str, int] = {}
        self._provenance: dict = {}

    def describe(self) -> str:
        return f"store {self.store.root} (studies {', '.join(self.config.studies)})"

    # -- what the catalog says -----------------------------------------------------------------
    def _plan(self, con) -> Plan:
        from cellreg.store.views import known_studies, unknown_study
        from cellreg.toolkit.text_tables import suggest

        if con is None:
            raise ValueError(f"phenotypes.studies: the store at {self.store.root} holds no study (import one with "
                             "cellreg data import, or set phenotypes.store / $CELLREG_STORE)")
        known = known_studies(con)
        for study in self.config.studies:
            if study not in known:
                raise unknown_study(study, known, "phenotypes.studies")
        studies = list(self.config.studies)
        marks = ", ".join("?" * len(studies))
        rows = con.execute(f"SELECT phenotype, study, unit, shape FROM phenotypes WHERE study IN ({marks}) "
                           "ORDER BY phenotype, study", studies).fetchall()
        have = list(dict.fromkeys(r[0] for r in rows))
        wanted = self.config.phenotypes or have
        for name in wanted:
            if name not in have:
                raise ValueError(f"phenotypes.phenotypes: no phenotype {name!r} in studies {', '.join(studies)}"
                                 f"{suggest(name, have)}; they have: {', '.join(have)}")
        phenotypes: dict[str, tuple[str, str]] = {}
        for name, study, unit, shape in rows:
            if name in wanted and phenotypes.setdefault(name, (unit, shape)) != (unit, shape):
                raise ValueError(f"phenotype {name!r} is a {phenotypes[name][1]} in {phenotypes[name][0]!r} in one "
                                 f"study and a {shape} in {unit!r} in {study!r}: train on them separately")
        phenotypes = {n: phenotypes[n] for n in wanted}
        env: dict[str, tuple[str, str]] = {}
        for name, study, kind, unit in con.execute(f"SELECT name, study, kind, unit FROM env_columns WHERE study IN "
                                                   f"({marks}) ORDER BY name, study", studies).fetchall():
            if env.setdefault(name, (kind, unit)) != (kind, unit):
                raise ValueError(f"environment column {name!r} is {env[name][0]} in {env[name][1]!r} in one study and "
                                 f"{kind} in {unit!r} in {study!r}")
        for f in self.config.environment:
            if f.name not in env:
                raise ValueError(f"phenotypes.environment: no environment column {f.name!r} in studies "
                                 f"{', '.join(studies)}{suggest(f.name, list(env))}; they have: "
                                 f"{', '.join(env) or 'none'}")
        pmarks = ", ".join("?" * len(wanted))
        parts = con.execute(f"SELECT study, phenotype, path, digest FROM parts WHERE study IN ({marks}) AND phenotype "
                            f"IN ({pmarks}) ORDER BY study, phenotype, path", studies + list(wanted)).fetchall()
        sources = con.execute(
            f"SELECT s.study, st.citation, st.license, s.file_name, s.sha256, s.format, s.import_id, "
            f"CAST(s.imported_at AS VARCHAR) FROM sources s JOIN studies st USING (study) WHERE s.study IN ({marks}) "
            "ORDER BY s.study, s.imported_at", studies).fetchall()
        keys = ("study", "citation", "license", "file", "sha256", "format", "import_id", "imported_at")
        return Plan([tuple(p) for p in parts], phenotypes, env, [dict(zip(keys, s)) for s in sources])

    def check(self) -> list[str]:
        try:
            with self.store.read() as con:
                self._plan(con)
        except ValueError as exc:
            return [str(exc)]
        return []

    def label_names(self) -> list[str] | None:
        with self.store.read() as con:
            plan = self._plan(con)
        if any(shape == "profile" for _, shape in plan.phenotypes.values()):
            return None  # a profile's labels are its features: known once its rows are read
        return list(plan.phenotypes)

    def environment_kinds(self) -> dict[str, str] | None:
        with self.store.read() as con:
            plan = self._plan(con)
        return {name: kind for name, (kind, _) in plan.env.items()}

    def report(self) -> dict[str, str]:
        return {k: f"{v:,}" for k, v in self.stats.items()}

    def provenance(self) -> dict:
        """The studies, source files (sha256) and Parquet parts the last load read, and how."""
        return self._provenance

    # -- loading ---------------------------------------------------------------------------------
    def load(self, graph) -> PhenotypeTable:
        from cellreg.toolkit import table_cache
        from cellreg.toolkit.atomic import atomic_write

        with self.store.read() as con:
            plan = self._plan(con)
            paths = [self.store.root / p[2] for p in plan.parts]
            options = {"config": attrs.asdict(self.config), "parts": plan.parts, "genes": _digest(graph.genes)}
            entry = table_cache.Entry("store", paths, options, code=READING_CODE)
            cached = entry.path is not None and entry.path.is_file()
            if cached:
                table = PhenotypeTable.load(entry.path)
                stats = entry.path.with_suffix(".stats.json")
                self.stats = json.loads(stats.read_text()) if stats.is_file() else {}
            else:
                table = self._read(plan, graph)
        if not cached and entry.path is not None:
            # the stats beside the entry first: an entry is only ever served with its stats
            atomic_write(entry.path.with_suffix(".stats.json"), lambda tmp: Path(tmp).write_text(json.dumps(self.stats)))
            atomic_write(entry.path, lambda tmp: _save(tmp, table))
        self._provenance = {
            "store": str(self.store.root), "replicates": self.config.replicates, "prefer": self.config.prefer,
            "phenotypes": {n: {"unit": u, "shape": s} for n, (u, s) in plan.phenotypes.items()},
            "environment_filter": [attrs.asdict(f) for f in self.config.environment],
            "sources": plan.sources,
            "parts": [{"study": s, "phenotype": p, "path": path, "digest": d} for s, p, path, d in plan.parts],
            "stats": self.stats,
        }
        return table

    def _read(self, plan: Plan, graph) -> PhenotypeTable:
        from cellreg.data.label_groups import GroupKind, LabelGroup
        from cellreg.toolkit.gene_names import GeneNames

        resolver = GeneNames(graph.genes)
        studies = list(self.config.studies)
        labels: dict[str, int] = {n: i for i, n in enumerate(plan.phenotypes) if plan.phenotypes[n][1] != "profile"}
        label_group: dict[str, str] = {n: n for n in labels}
        env_acc = _EnvAccumulator(plan.env)
        acc = {k: [] for k in ("genes", "kinds", "sizes", "study", "label", "value")}
        unknown: dict[str, int] = {}
        read = filtered = dropped = 0
        for study, phenotype, rel, _ in plan.parts:
            import pyarrow.parquet as pq

            path = self.store.root / rel
            schema = pq.read_schema(path)
            profile = plan.phenotypes[phenotype][1] == "profile"
            wanted = ["genes", "kinds", "value"] + (["feature"] if profile else []) + \
                [c for c in schema.names if c.startswith("env.")]
            t = pq.read_table(path, columns=wanted, read_dictionary=["genes.list.element"])  # codes, not text
            read += t.num_rows
            keep = self._env_filter(t, plan.env)
            filtered += int((~keep).sum())
            genes, kinds, sizes = _strains(t["genes"], t["kinds"], resolver)
            bad_entry = genes < 0
            if bad_entry.any():
                names = _names(t["genes"])
                for name in names[bad_entry]:
                    unknown[name] = unknown.get(name, 0) + 1
                bad_row = np.bincount(np.repeat(np.arange(len(sizes)), sizes)[bad_entry], minlength=len(sizes)) > 0
                dropped += int((bad_row & keep).sum())
                keep &= ~bad_row
            if profile:
                label = _feature_labels(t["feature"], phenotype, labels, label_group)
            else:
                label = np.full(t.num_rows, labels[phenotype], np.int32)
            every = bool(keep.all())  # the common case: no copies
            entry_keep = slice(None) if every else np.repeat(keep, sizes)
            row_keep = slice(None) if every else keep
            acc["genes"].append(genes[entry_keep])
            acc["kinds"].append(kinds[entry_keep])
            acc["sizes"].append(sizes[row_keep])
            acc["study"].append(np.full(int(keep.sum()), studies.index(study), np.int16))
            acc["label"].append(label[row_keep])
            acc["value"].append(np.asarray(t["value"].combine_chunks(), np.float64)[row_keep])
            env_acc.add(t, keep)
            del t, genes, kinds, sizes, label
        if unknown and self.config.unknown_genes == "error":
            from cellreg.toolkit.text_tables import suggest

            shown = ", ".join(f"{n!r} ({c:,} rows{suggest(n, graph.genes)})" for n, c in list(unknown.items())[:5])
            raise ValueError(f"{self.describe()}: {len(unknown):,} gene names not in the graph's {graph.num_genes:,}-gene "
                             f"vocabulary, e.g. {shown}; give the graph a vocabulary that lists them, or set "
                             'unknown_genes = "drop" to skip those strains')
        cat = {k: (v[0] if len(v) == 1 else np.concatenate(v)) if v else np.zeros(0, np.int64) for k, v in acc.items()}
        del acc
        cat["genes"], cat["kinds"], cat["sizes"], repeated = drop_repeated_genes(cat["genes"], cat["kinds"],
                                                                                 cat["sizes"])
        env = env_acc.finish()
        env_code = _combined_code(env, len(cat["value"]))
        rank = np.array([self.config.prefer.index(s) if s in self.config.prefer else len(self.config.prefer)
                         for s in studies], np.int64)
        merged = merge_rows(cat["genes"], cat["kinds"], cat["sizes"], env_code, cat["study"],
                            cat["label"], cat["value"], len(labels), len(studies), self.config.replicates, rank)
        profile_columns = [j for n, j in labels.items() if plan.phenotypes[label_group[n]][1] == "profile"]
        values, first = merged.labels, merged.first
        if profile_columns and self.config.profiles == "change":
            values, first = _changes(values, first, cat["sizes"][first], env_code[first], profile_columns,
                                     len(profile_columns) == len(labels), self.describe())
        offsets = np.concatenate([[0], np.cumsum(cat["sizes"], dtype=np.int64)])
        sizes = cat["sizes"][first]
        new_offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        take = np.repeat(offsets[first] - new_offsets[:-1], sizes) + np.arange(int(new_offsets[-1]))
        names = list(labels)
        groups = []
        for group in dict.fromkeys(label_group.values()):
            members = tuple(n for n in names if label_group[n] == group)
            unit, shape = plan.phenotypes[group]
            groups.append(LabelGroup(group, members, GroupKind.PROFILE if shape == "profile" else GroupKind.SCALAR, unit))
        tags = {}
        if len(studies) > 1:  # which studies made each strain's values (one study: the provenance says it)
            distinct, which = _distinct_rows(merged.studies[np.searchsorted(merged.first, first)])
            tags["study"] = np.array(["+".join(s for s, m in zip(studies, row) if m) for row in distinct],
                                     dtype=object)[which]
        environment = env.select(first)
        self.stats = {"rows read": read, "rows outside the environment filter": filtered,
                      "rows dropped for unknown genes": dropped, "rows naming a gene twice (kept once)":
                      repeated, "rows outranked by a preferred study": len(cat["value"]) - merged.rows_used,
                      "strains": len(first)}
        return PhenotypeTable(new_offsets, cat["genes"][take].astype(np.int32), cat["kinds"][take].astype(np.int8),
                              values.astype(np.float32), names, graph.genes, tags,
                              environment, label_groups=groups)

    def _env_filter(self, t: pa.Table, env: dict[str, tuple[str, str]]) -> np.ndarray:
        keep = np.ones(t.num_rows, bool)
        for f in self.config.environment:
            kind = env[f.name][0]
            column = f"env.{f.name}"
            if column not in t.column_names:
                keep[:] = False  # this study did not record it
                continue
            col = t[column].combine_chunks()
            if kind == "numeric":
                keep &= np.isin(np.asarray(col.cast(pa.float64()).fill_null(np.nan)), [float(v) for v in f.accepted])
            else:
                keep &= np.asarray(pc.fill_null(pc.is_in(col.cast(pa.string()), pa.array([str(v) for v in f.accepted])),
                                                False))
        return keep


def _changes(values: np.ndarray, first: np.ndarray, sizes: np.ndarray, env: np.ndarray, columns: list[int],
             drop_reference: bool, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Profiles as changes from the reference (the strain with no genes) under the same environment;
    the reference strains themselves go when every label is a profile feature."""
    reference = np.flatnonzero(sizes == 0)
    if len(reference) == 0:
        raise ValueError(f"{where}: the profiles have no reference strain (no genes: the control cells) to take "
                         'changes from; set profiles = "level" to train on the levels')
    lookup = np.full(int(env.max()) + 1 if len(env) else 1, -1, np.int64)
    lookup[env[reference]] = reference
    ref = lookup[env]
    out = values.copy()
    cols = np.asarray(columns)
    out[:, cols] = np.where(ref[:, None] >= 0, values[:, cols] - values[np.maximum(ref, 0)][:, cols], np.nan)
    if drop_reference:
        keep = sizes > 0
        return out[keep], first[keep]
    return out, first


def _digest(genes) -> str:
    from cellreg.toolkit.hashing import Hasher

    h = Hasher()
    h.update_strings(genes)
    return h.hexdigest()


def _save(tmp: str, table: PhenotypeTable) -> None:
    with open(tmp, "wb") as f:
        table.save(f)


def _strains(genes: pa.ChunkedArray, kinds: pa.ChunkedArray, resolver) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gene indices (-1 = unknown), kind codes and set sizes of list<dictionary> columns, names looked up
    once per dictionary entry."""
    kind_of = {k.name.lower(): int(k) for k in Perturbation}
    g_out, k_out, s_out = [], [], []
    for gc, kc in zip(genes.chunks, kinds.chunks):
        s_out.append(np.diff(np.asarray(gc.offsets)).astype(np.int32))
        gv, kv = gc.flatten(), kc.flatten()
        gv = gv if pa.types.is_dictionary(gv.type) else pc.dictionary_encode(gv)
        kv = kv if pa.types.is_dictionary(kv.type) else pc.dictionary_encode(kv)
        lookup = resolver.lookup(gv.dictionary.to_pylist()).astype(np.int32)
        g_out.append(lookup[np.asarray(gv.indices)] if len(lookup) else np.zeros(0, np.int32))
        kl = np.array([kind_of[k] for k in kv.dictionary.to_pylist()], np.int8)
        k_out.append(kl[np.asarray(kv.indices)] if len(kl) else np.zeros(0, np.int8))
    return _cat(g_out, np.int32), _cat(k_out, np.int8), _cat(s_out, np.int32)


def _cat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)) if parts else np.zeros(0, dtype)


def _names(genes: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.cast(pa.concat_arrays([c.flatten() for c in genes.chunks]), pa.string()), dtype=object) \
        if genes.num_chunks else np.zeros(0, object)


def _feature_labels(feature: pa.ChunkedArray, phenotype: str, labels: dict[str, int],
                    label_group: dict[str, str]) -> np.ndarray:
    """Per row, the label of its feature (``<phenotype>:<feature>``), new features appended."""
    out = []
    for chunk in feature.chunks:
        ids = []
        for f in chunk.dictionary.to_pylist():  # distinct features, not rows
            name = f"{phenotype}:{f}"
            if name not in labels:
                labels[name] = len(labels)
                label_group[name] = phenotype
            ids.append(labels[name])
        out.append(np.asarray(ids, np.int64)[np.asarray(chunk.indices)])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


class _EnvAccumulator:
    """Each environment column over all rows read: numbers as float64 (NaN when a study did not record
    it), names as codes into one list of categories ("" when not recorded)."""

    def __init__(self, meta: dict[str, tuple[str, str]]) -> None:
        self.meta = meta
        self.values: dict[str, list[np.ndarray]] = {n: [] for n in meta}
        self.codes: dict[str, list[np.ndarray]] = {n: [] for n in meta}
        self.categories: dict[str, dict[str, int]] = {n: {} for n in meta}

    def add(self, t: pa.Table, keep: np.ndarray) -> None:
        n = int(keep.sum())
        for name, (kind, _) in self.meta.items():
            number = f"env.{name}" + (".dose" if kind == "dose" else "")
            if kind != "categorical":
                col = t[number].combine_chunks().cast(pa.float64()).fill_null(np.nan) if number in t.column_names \
                    else None
                self.values[name].append((np.asarray(col) if keep.all() else np.asarray(col)[keep]) if col is not None
                                         else np.full(n, np.nan))
            if kind != "numeric":
                cats = self.categories[name]
                if f"env.{name}" not in t.column_names:
                    self.codes[name].append(np.full(n, cats.setdefault("", len(cats)), np.int32))
                    continue
                col = t[f"env.{name}"].combine_chunks()
                enc = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
                mapping = np.array([cats.setdefault("" if v is None else v, len(cats))
                                    for v in enc.dictionary.to_pylist()] + [cats.setdefault("", len(cats))], np.int32)
                idx = np.asarray(enc.indices.fill_null(len(enc.dictionary)))
                self.codes[name].append(mapping[idx] if keep.all() else mapping[idx][keep])

    def finish(self):
        from cellreg.data.environment import EnvColumn, EnvKind, Environment

        columns = []
        for name, (kind, unit) in self.meta.items():
            values = np.concatenate(self.values[name]) if self.values[name] else None
            codes = np.concatenate(self.codes[name]) if self.codes[name] else None
            n = len(values) if values is not None else len(codes)
            columns.append(EnvColumn(name, EnvKind(kind), values if values is not None else np.zeros(n, np.float32),
                                     codes if codes is not None else np.zeros(n, np.int32),
                                     tuple(self.categories[name]), unit))
        return Environment(tuple(columns))


def _combined_code(env, rows: int) -> np.ndarray:
    """One small integer per row naming its whole environment (0 for every row when there is none)."""
    code = np.zeros(rows, np.int64)
    for c in env.columns:
        parts = []
        if c.kind.value != "categorical":
            parts.append(np.asarray(pc.dictionary_encode(pa.array(c.values, from_pandas=False)).indices, np.int64))
        if c.kind.value != "numeric":
            parts.append(c.codes.astype(np.int64))
        for p in parts:
            span = int(p.max()) + 1 if len(p) else 1
            code = code * span + p
            code = np.asarray(pc.dictionary_encode(pa.array(code)).indices, np.int64)  # stay small
    return code


def _distinct_rows(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, inverse) of a small boolean matrix, through one integer per row."""
    bits = (mask.astype(np.int64) << np.arange(mask.shape[1], dtype=np.int64)).sum(axis=1) if mask.size \
        else np.zeros(len(mask), np.int64)
    values, inverse = np.unique(bits, return_inverse=True)
    rows = ((values[:, None] >> np.arange(mask.shape[1])) & 1).astype(bool)
    return rows, inverse.reshape(-1)

