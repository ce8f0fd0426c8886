"""The study store under crashes and concurrency: a SIGKILLed import leaves the store as it was (or, killed
after its commit, lands whole on the next command); two imports at once both land, or the second finds
the first's file and does nothing. Every process is spawned (not forked), waited on with a timeout and
killed on failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store_files import COSTANZO_ROWS, costanzo, kuzmin2020

TIMEOUT = 120


def _spawn(store: Path, *args: str, pause: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, CELLREG_STORE_TEST_PAUSE=pause or "")
    return subprocess.Popen([sys.executable, "-m", "cellreg.commands.cli", "data", *args[:1], "--store", str(store),
                             *args[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(proc: subprocess.Popen, marker: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    for line in proc.stderr:  # the import prints the marker, then sleeps
        if marker in line:
            return
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"the import never reached {marker!r}: {proc.stderr.read()}")


def snapshot(store: Path) -> tuple:
    """The catalog's rows and every file under data/ with its bytes."""
    from cellreg.store.catalog import Store

    with Store(store).read() as con:
        tables = {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in
                  ("studies", "sources", "phenotypes", "parts", "env_columns", "environments")}
    files = {p.relative_to(store).as_posix(): p.read_bytes() for p in sorted((store / "data").rglob("*")) if p.is_file()}
    return tables, files


@pytest.fixture
def populated(tmp_path) -> Path:
    store = tmp_path / "store"
    proc = _spawn(store, "import", "kuzmin2020", str(kuzmin2020(tmp_path / "k20.tsv")), "--study", "k20")
    assert proc.wait(TIMEOUT) == 0, proc.stderr.read()
    return store


@pytest.mark.parametrize("point", ["staged", "committed"])
def test_a_killed_import_leaves_the_store_before_or_after(populated, tmp_path, point):
    store = populated
    before = snapshot(store)
    proc = _spawn(store, "import", "costanzo2016", str(costanzo(tmp_path / "SGA_ExE.txt")), "--study", "c16", pause=point)
    try:
        _wait_for(proc, f"cellreg-store-paused {point}")
        assert list((store / "staging").iterdir())  # the import's files are there, not yet in data/
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(TIMEOUT)
        proc.stdout.close()
        proc.stderr.close()
    after = snapshot(store)  # a reader first finishes or undoes what the dead import left
    assert not any((store / "staging").iterdir())
    if point == "staged":
        assert after == before
    else:
        assert after[0]["studies"] != before[0]["studies"]
        from cellreg.store.catalog import Store
        from cellreg.store.views import query

        _, n = query(Store(store), "SELECT count(*) FROM rows WHERE study = 'c16' AND phenotype = 'genetic_interaction'")
        assert n == [(sum(r[5] != "NA" for r in COSTANZO_ROWS),)]
        for rel in after[0]["parts"]:
            assert (store / eval(rel)[3]).is_file()


def test_two_imports_at_once_both_land(tmp_path):
    store = tmp_path / "store"
    files = [costanzo(tmp_path / f"SGA_{i}.txt", COSTANZO_ROWS[i:] + COSTANZO_ROWS[:i]) for i in range(2)]
    procs = [_spawn(store, "import", "costanzo2016", str(f), "--study", f"s{i}") for i, f in enumerate(files)]
    try:
        codes = [p.wait(TIMEOUT) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert codes == [0, 0], [p.stderr.read() for p in procs]
    from cellreg.store.catalog import Store
    from cellreg.store.views import query

    _, rows = query(Store(store), "SELECT study, count(*) FROM rows GROUP BY ALL ORDER BY ALL")
    _, parts = query(Store(store), "SELECT study, sum(rows)::BIGINT FROM parts GROUP BY ALL ORDER BY ALL")
    assert rows == parts and [r[0] for r in rows] == ["s0", "s1"]


def test_the_same_file_twice_at_once_lands_once(tmp_path):
    store, f = tmp_path / "store", costanzo(tmp_path / "SGA_ExE.txt")
    procs = [_spawn(store, "import", "costanzo2016", str(f), "--study", name) for name in ("a", "b")]
    try:
        codes = [p.wait(TIMEOUT) for p in procs]
        outs = [p.stdout.read() for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert codes == [0, 0]
    assert sum("nothing to do" in o for o in outs) == 1 and sum("imported" in o for o in outs) == 1
    from cellreg.store.catalog import Store
    from cellreg.store.views import query

    assert len(query(Store(store), "SELECT * FROM sources")[1]) == 1
    assert not any((store / "staging").iterdir())
