"""Child processes in tests: spawned (never forked after torch is imported), and killed with all of
their own children when they time out, so a hung test leaves no worker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from multiprocessing.process import BaseProcess
from typing import Sequence


def run_group(cmd: Sequence[str], timeout: float) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, check=True)`` in a new process group; on a timeout the whole group
    (torchrun and its workers) is killed before the error is raised. stderr is in the error."""
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"{' '.join(cmd)} timed out after {timeout} s; killed its process group\n{err[-4000:]}")
    if proc.returncode:
        raise AssertionError(f"{' '.join(cmd)} exited with {proc.returncode}\n{err[-4000:]}")
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def join_or_kill(workers: Sequence[BaseProcess], timeout: float) -> list[int | None]:
    """Wait for every worker (``timeout`` seconds in all); kill the ones still alive, then fail."""
    import time

    deadline = time.monotonic() + timeout
    for w in workers:
        w.join(timeout=max(0.0, deadline - time.monotonic()))
    alive = [w for w in workers if w.is_alive()]
    for w in alive:
        w.kill()
        w.join(5)
    if alive:
        raise AssertionError(f"{len(alive)} worker(s) still running after {timeout} s; killed")
    return [w.exitcode for w in workers]


def cellreg_cli(*args: str) -> list[str]:
    """``python -m cellreg.commands.cli ARGS``."""
    return [sys.executable, "-m", "cellreg.commands.cli", *args]


def sweep_worker(config, space, out) -> None:
    """One sweep worker process (a module-level target, as spawn needs)."""
    from cellreg.commands.sweep import Options, sweep_one

    ran = sweep_one(config, space, out, Options(trials=4, pruner="off", overrides=("train.epochs=1",)))
    sys.exit(0 if ran is not None else 3)
