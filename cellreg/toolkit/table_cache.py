"""A content-keyed cache of parsed tables: the second load of the same files skips parsing.

The key is a hash of every input file's *bytes* (size and mtime say nothing about content), the
options that change the result (the resolved config), the source of the reading code (the named
modules and every module of the same packages or of ``cellreg`` they import, found from their
import statements, so a helper nobody listed is never left out), and :data:`FORMAT`; an entry is a
sequence of named ``.npy`` records (no pickles, :func:`records_writer`) written atomically, so
concurrent runs (ranks of one job) never read half an entry, and a large one on a thread while the
command goes on (:func:`write_entry`). Where:
``$CELLREG_CACHE``, else ``$XDG_CACHE_HOME/cellreg``, else ``~/.cache/cellreg``; ``CELLREG_CACHE=off``
turns it off. Inputs smaller than ``$CELLREG_CACHE_MIN_BYTES`` (default 4 MiB) are not cached:
parsing them is as quick as reading an entry.
"""

from __future__ import annotations

import json
import logging
import functools
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from cellreg.toolkit.atomic import atomic_write
from cellreg.toolkit.mapped_file import file_state, read_through

FORMAT = 3  # 2: sizes, gene numbers and codes stored narrow; 3: .npy records, not .npz
Later = Callable[[], Mapping[str, np.ndarray]] | None
"""More arrays for an entry, made where it is written (on its thread for a large one)."""
log = logging.getLogger("cellreg")


def cache_dir() -> Path | None:
    env = os.environ.get("CELLREG_CACHE")
    if env is not None and env.strip().lower() in ("off", "0", "false", "none", ""):
        return None
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cellreg"


def _min_bytes() -> int:
    return int(os.environ.get("CELLREG_CACHE_MIN_BYTES", 4 << 20))


def _memo(root: Path, path: Path) -> Path:
    import hashlib

    resolved, written_as = file_state(path)
    stamp = "|".join([resolved, *map(str, written_as)])
    return root / "digests" / f"{hashlib.sha256(stamp.encode()).hexdigest()[:32]}.txt"


def will_hash(files: Iterable[Path]) -> bool:
    """Whether an :class:`Entry` for ``files`` would hash one of them (cached, and not hashed since it
    last changed). Such files have no entry either, almost always (only files rewritten with the
    same bytes have one): a reader may start parsing them before it knows."""
    files = [Path(f) for f in files]
    root = cache_dir()
    try:
        return root is not None and sum(f.stat().st_size for f in files) >= _min_bytes() and \
            not all(_memo(root, f).is_file() for f in files)
    except OSError:  # a missing file: the load says so
        return False


def file_digest(path: Path) -> str:
    """A hash of the file's bytes (:func:`hash_bytes`), remembered in the cache folder for as long as
    the file's device, inode, size, mtime and ctime stay the same: any write through the file system
    changes its ctime, so a 1.8 GB table is read once, not on every warm load (git's index does
    the same)."""
    path = Path(path)
    root = cache_dir()
    if root is None:
        return hash_bytes(path)
    memo = _memo(root, path)
    try:
        return memo.read_text()
    except OSError:
        pass
    digest = hash_bytes(path)
    try:
        atomic_write(memo, lambda tmp: Path(tmp).write_text(digest))
    except OSError:  # a read-only cache folder costs a re-read, not the run
        pass
    return digest


def hash_bytes(path: Path) -> str:
    """A hash of the file's bytes: xxh3-128 when ``xxhash`` is installed (~10 GB/s), else blake2b."""
    try:
        import xxhash

        h, name = xxhash.xxh3_128(), "xxh3"
    except ImportError:  # pragma: no cover - xxhash is a dependency
        import hashlib

        h, name = hashlib.blake2b(digest_size=16), "blake2b"
    read_through(path, h.update)  # hashed in place: 1.8 GB in 0.28 s, against 0.45 s read in chunks
    return f"{name}:{h.hexdigest()}"


@functools.lru_cache(maxsize=None)
def code_digest(modules: tuple[str, ...]) -> str:
    """A hash of the source of ``modules``, of every module they import from their own packages or
    from ``cellreg`` (transitively, :func:`code_closure`), and of this one: the closure's syntax trees
    take 0.06 s once the modules are imported (0.38 s under cProfile, which once made this worth
    remembering in the cache folder)."""
    import hashlib

    h = hashlib.sha256()
    for name in code_closure(tuple(modules) + (__name__,)):
        h.update(name.encode() + b"\0" + Path(_origin(name)).read_bytes())
    return h.hexdigest()[:16]


def _origin(name: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, AttributeError, ValueError):  # "pkg.module.attribute" is no module
        return None
    return spec.origin if spec is not None and spec.origin and spec.origin.endswith(".py") else None


def _imported(name: str, path: str) -> set[str]:
    """The module names a module's import statements (at any depth: lazy ones too) may refer to."""
    import ast

    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(Path(path).read_bytes())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package upwards
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)  # "from pkg import module"
    return out


@functools.lru_cache(maxsize=None)
def code_closure(modules: tuple[str, ...]) -> tuple[str, ...]:
    """``modules`` and every module of their top-level packages or of ``cellreg`` that they import,
    transitively, sorted."""
    roots = {m.split(".")[0] for m in modules} | {"cellreg"}
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen or name.split(".")[0] not in roots:
            continue
        path = _origin(name)
        if path is None:
            continue
        seen.add(name)
        todo.extend(_imported(name, path) - seen)
    return tuple(sorted(seen))


class Entry:
    """One cache slot for ``files`` read with ``options``; :meth:`load` / :meth:`save` do nothing when
    caching is off or the inputs are small."""

    def __init__(self, kind: str, files: Iterable[Path], options: Mapping[str, Any], code: Iterable[str] = ()):
        """``code``: the modules whose source decides the result (the reader's own, by ``__name__``):
        their text is part of the key, so an entry written by other parsing code is never served."""
        files = [Path(f) for f in files]
        root = cache_dir()
        self.path: Path | None = None
        if root is None or sum(f.stat().st_size for f in files) < _min_bytes():
            return
        import hashlib

        key = json.dumps({"format": FORMAT, "kind": kind, "files": [file_digest(f) for f in files],
                          "code": code_digest(tuple(code)), "options": options}, sort_keys=True, default=str)
        self.path = root / "tables" / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:32]}.npys"

    def load(self) -> dict[str, np.ndarray] | None:
        if self.path is None:
            return None
        written(self.path)
        if not self.path.is_file():
            return None
        try:
            return read_records(self.path)
        except (OSError, ValueError, EOFError) as exc:  # a damaged entry is rebuilt, never trusted
            log.warning("table cache: ignoring unreadable %s (%s)", self.path, exc)
            return None

    def save(self, arrays: Mapping[str, np.ndarray], later: Later = None) -> None:
        """``later``: more arrays, made where the entry is written (:data:`Later`)."""
        if self.path is not None:
            write_entry(self.path, arrays, later, records_writer)


BACKGROUND_BYTES = 64 << 20
"""An entry this large is written on a thread while the command goes on (a 20 M-row table's
600 MB take seconds to write, most of it waiting on the file system)."""
_writing: dict[Path | str, threading.Thread] = {}
_writing_lock = threading.Lock()


def write_entry(path: Path, arrays: Mapping[str, np.ndarray], later: Later = None, writer=None,
                background: bool | None = None) -> None:
    """``arrays``, then ``later()``'s, as an ``.npz`` at ``path`` (or by ``writer``:
    :func:`records_writer` writes ``arrays`` while ``later`` is still being made), atomically; from
    :data:`BACKGROUND_BYTES` of ``arrays`` on (or as ``background`` says), on a thread that
    :func:`written` waits for, at exit and before a read. A read-only or full cache folder costs
    speed, not the run: a warning."""
    def write() -> None:
        try:
            atomic_write(path, (writer or npz_writer)(arrays, later))
        except OSError as exc:
            log.warning("cache: cannot write %s (%s)", path, exc)

    if background is None:
        background = sum(np.asarray(a).nbytes for a in arrays.values()) >= BACKGROUND_BYTES
    if not background:
        write()
        return
    written(path)  # one writer per entry
    thread = threading.Thread(target=write, name=f"cellreg-cache-{path.name}")
    with _writing_lock:
        _writing[path] = thread
    thread.start()


def in_background(name: str, work: Callable[[], None]) -> None:
    """``work()`` on a thread that :func:`written` (of every entry) waits for: an entry whose path is
    known only once a hash is done (a split's)."""
    thread = threading.Thread(target=work, name=f"cellreg-cache-{name}")
    with _writing_lock:
        _writing[name] = thread
    thread.start()


def written(path: Path | None = None) -> None:
    """Wait for the background writes of the entry at ``path`` (of every entry, and of the work that
    starts more of them: None)."""
    while True:
        with _writing_lock:
            threads = [(p, t) for p, t in _writing.items() if path is None or p == path]
        if not threads:
            return
        for p, thread in threads:
            thread.join()
            with _writing_lock:
                if _writing.get(p) is thread:
                    del _writing[p]


def npz_writer(arrays: Mapping[str, np.ndarray], later: Later = None):
    """A writer for :func:`~cellreg.toolkit.atomic.atomic_write`: ``arrays`` and ``later()``'s as an ``.npz``."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a bare name
            np.savez(f, **arrays, **(later() if later is not None else {}))

    return write


def records_writer(arrays: Mapping[str, np.ndarray], later: Later = None):
    """A writer for :func:`~cellreg.toolkit.atomic.atomic_write`: each array as its name (two bytes of
    length, then UTF-8) and an ``.npy`` record, written from its own memory (a 20 M-row table's 350 MB:
    median 0.25 s of seven, against 0.35 s for ``np.savez``, whose zip copies and checksums every
    chunk); ``arrays`` first, then ``later()``'s, so that the write goes on while they are made."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            def records(part: Mapping[str, np.ndarray]) -> None:
                for name, a in part.items():
                    encoded = name.encode()
                    f.write(len(encoded).to_bytes(2, "little") + encoded)
                    np.lib.format.write_array(f, np.asarray(a), allow_pickle=False)

            records(arrays)
            if later is not None:  # made only now, after ``arrays`` are out
                records(later())

    return write


def read_records(path: Path) -> dict[str, np.ndarray]:
    """What :func:`records_writer` wrote; a truncated file raises ``EOFError`` or ``ValueError``."""
    out = {}
    with open(path, "rb") as f:
        while head := f.read(2):
            size = int.from_bytes(head, "little")
            name = f.read(size)
            if len(head) < 2 or len(name) < size:
                raise EOFError(f"{path}: a record cut short")
            out[name.decode()] = np.lib.format.read_array(f, allow_pickle=False)
    return out


def narrow(values: np.ndarray, bound: int | None = None) -> np.ndarray:
    """Non-negative integers below ``bound`` (their maximum + 1 when None) in the narrowest unsigned
    type: an entry's indices and codes, which the command that writes it waits for at exit."""
    top = (int(values.max()) + 1 if len(values) else 1) if bound is None else bound
    return values.astype(np.min_scalar_type(max(top - 1, 0)), copy=False)


def strings(items: Iterable[str]) -> np.ndarray:
    """Text as a fixed-width unicode array (loads without pickle)."""
    items = list(items)
    return np.array(items, dtype=str) if items else np.zeros(0, dtype="<U1")
