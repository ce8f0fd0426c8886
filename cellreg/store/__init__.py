"""The study store (``cellreg data``): published studies as Parquet files partitioned by study and
phenotype, with a DuckDB catalog in one file beside them (no server); see docs/store.md.

``<store>/catalog.duckdb``      studies, their source files (name, sha256, import time, citation, license),
                               phenotypes (unit), environment columns, parts (one Parquet file each)
``<store>/data/study=S/phenotype=P/part-<import>.parquet``   rows: genes, kinds, alleles, env.*, value, unit, ...
``<store>/staging/<import>/``   an import in progress (moved into data/ once its catalog rows commit)
``<store>/store.lock``          writers hold it exclusively, readers shared (flock: released when a process dies)
"""
