"""numpy's arrays without transparent huge pages, where the kernel would stall to make them.

numpy asks the kernel for huge pages for every array of 4 MB or more (``madvise``). Where the
kernel compacts memory on the spot to find one (``/sys/kernel/mm/transparent_hugepage/defrag`` set
to ``madvise``, ``defer+madvise`` or ``always``: Debian's and Ubuntu's default is ``madvise``), the
first touch of each fresh array can stall in that compaction, and a 20 M-row load makes hundreds
of them: ``cellreg inspect`` of the 20 M-row table spends seconds there (docs/benchmarks.md). The
command line turns numpy's request off on such kernels; ``NUMPY_MADVISE_HUGEPAGE`` in the
environment (numpy's own switch) keeps the user's choice.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DEFRAG = Path("/sys/kernel/mm/transparent_hugepage/defrag")
STALLING = ("always", "madvise", "defer+madvise")  # the settings that compact on a madvised fault


def kernel_stalls(defrag: Path = DEFRAG) -> bool:
    """Whether a huge page numpy asks for is made by compacting memory at first touch."""
    try:
        text = defrag.read_text()
    except OSError:
        return False
    chosen = text[text.find("[") + 1:text.find("]")] if "[" in text else text.strip()
    return chosen in STALLING


def avoid_stalling_huge_pages(defrag: Path = DEFRAG) -> bool:
    """Turn numpy's huge-page request off where the kernel would stall for it, unless the
    environment sets ``NUMPY_MADVISE_HUGEPAGE``; whether it was turned off."""
    setter = getattr(getattr(np, "_core", None), "multiarray", None)
    setter = getattr(setter, "_set_madvise_hugepage", None)
    if setter is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ or not kernel_stalls(defrag):
        return False
    setter(False)
    return True
