"""The command line's memory settings: huge pages by the kernel's setting, freed memory kept on glibc,
and never over the user's choice."""

import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from cellreg.toolkit.process_memory import avoid_stalling_huge_pages, keep_freed_memory, kernel_stalls

OPTIONS = ["always", "defer", "defer+madvise", "madvise", "never"]


def _defrag(tmp_path, chosen):
    """A file as /sys/kernel/mm/transparent_hugepage/defrag reads, with ``chosen`` selected."""
    path = tmp_path / "defrag"
    path.write_text(" ".join(f"[{o}]" if o == chosen else o for o in OPTIONS) + "\n")
    return path


@pytest.mark.parametrize("chosen, stalls", [("always", True), ("madvise", True), ("defer+madvise", True),
                                            ("defer", False), ("never", False)])
def test_the_kernel_setting_in_brackets_decides(tmp_path, chosen, stalls):
    assert kernel_stalls(_defrag(tmp_path, chosen)) is stalls


def test_no_setting_file_means_no_stall(tmp_path):
    assert kernel_stalls(tmp_path / "missing") is False


@pytest.fixture
def numpy_huge_pages():
    setter = np._core.multiarray._set_madvise_hugepage
    before = setter(True)
    yield setter
    setter(before)


def test_turned_off_where_the_kernel_stalls(tmp_path, monkeypatch, numpy_huge_pages):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    assert avoid_stalling_huge_pages(_defrag(tmp_path, "madvise")) is True
    assert numpy_huge_pages(True) is False  # the previous state: off


@pytest.mark.parametrize("env, chosen", [("1", "madvise"), (None, "never")])
def test_left_alone_when_the_user_chose_or_the_kernel_does_not_stall(tmp_path, monkeypatch, numpy_huge_pages,
                                                                    env, chosen):
    if env is None:
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    else:
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", env)
    assert avoid_stalling_huge_pages(_defrag(tmp_path, chosen)) is False
    assert numpy_huge_pages(True) is True


@pytest.mark.parametrize("variable", ["MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX"])
def test_freed_memory_settings_leave_the_users_glibc_variables_alone(monkeypatch, variable):
    monkeypatch.setenv(variable, "0")
    assert keep_freed_memory() is False


def test_no_c_library_no_settings(monkeypatch):
    for variable in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX"):
        monkeypatch.delenv(variable, raising=False)
    assert keep_freed_memory("no-such-library-cellreg") is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_memory_is_kept_on_glibc():
    """In a child process (the setting lasts for the process): glibc takes all three parameters."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", "from cellreg.toolkit.process_memory import keep_freed_memory; "
                          "print(keep_freed_memory())"], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True", out.stderr
