"""The command line's huge-page switch: read from the kernel's setting, and never over the user's."""

import numpy as np
import pytest

from cellreg.toolkit.huge_pages import avoid_stalling_huge_pages, kernel_stalls

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
