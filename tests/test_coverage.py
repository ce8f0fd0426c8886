"""What training saw (set sizes and kinds) is recorded in the run: predict warns on strains outside
it, screen refuses such designs unless allow_unseen."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import tomli_w

from cellreg.config import ConfigError
from cellreg.data.phenotypes import Perturbation, PhenotypeTable
from cellreg.training.coverage import Coverage


def test_coverage_is_the_training_rows_sizes_and_kinds():
    t = PhenotypeTable.from_sets([[0, 1], [2], [3, 4, 5], [1, 2]], np.zeros((4, 1)), ["y"], list("abcdef"),
                                 [[0, 2], [1], [0, 0, 0], [0, 0]])
    assert Coverage.of(t, [0, 3]) == Coverage((2,), ("deletion", "overexpression"))
    cov = Coverage.of(t, [3])
    assert cov.unseen_strains(t).tolist() == [True, True, True, False]
    assert cov.outside([1, 2, 3], [0, 1]) == [
        "set sizes 1, 3 (trained on 2 genes per strain)",
        "kind knockdown (trained on deletion: the embedding of an unseen kind never trained)"]


@pytest.fixture(scope="module")
def deletion_pairs(tmp_path_factory):
    """A run trained on deletions of one and two genes only."""
    from conftest import TINY

    from cellreg.training.trainer import run

    root = tmp_path_factory.mktemp("coverage")
    config = root / "tiny.toml"
    config.write_text(tomli_w.dumps({**TINY, "graph": {"name": "synthetic", "genes": 60},
                                     "phenotypes": {"name": "synthetic", "doubles": 300, "triples": 0}}))
    run(config, root / "run", ["train.epochs=1"])
    return root


def test_the_run_records_what_training_saw(deletion_pairs):
    info = json.loads((deletion_pairs / "run" / "run.json").read_text())
    assert info["coverage"] == {"sizes": [1, 2], "kinds": ["deletion"]}  # the synthetic singles and pairs


def test_predict_warns_on_strains_outside_training(deletion_pairs, caplog):
    from cellreg.commands.predict import predict

    table = deletion_pairs / "new.tsv"
    table.write_text("genes\tkinds\nG00001+G00002\tdeletion+deletion\nG00001+G00003\toverexpression+deletion\n"
                     "G00001+G00002+G00003\tdeletion+deletion+deletion\n")
    with caplog.at_level(logging.WARNING, logger="cellreg"):
        predict(deletion_pairs / "run", table, deletion_pairs / "pred.tsv", kinds_column="kinds")
    assert ("2 of 3 strains are outside what training saw: set size 3 (trained on 1, 2 genes per strain); kind "
            "overexpression (trained on deletion") in caplog.text


def test_screen_refuses_unseen_kinds_and_sizes_unless_allowed(deletion_pairs):
    from cellreg.commands.screen import screen

    out = deletion_pairs / "top.tsv"
    common = dict(objectives=["interaction:max"], genes=["G00001", "G00002", "G00003", "G00004"], progress=False,
                  overwrite=True)
    with pytest.raises(ConfigError, match=r"(?s)run: kind overexpression \(trained on deletion: .*--allow-unseen"):
        screen([deletion_pairs / "run"], out, sizes=[2], kinds=["deletion", "overexpression"], **common)
    with pytest.raises(ConfigError, match=r"run: set size 3 \(trained on 1, 2 genes per strain\)"):
        screen([deletion_pairs / "run"], out, sizes=[2, 3], **common)
    assert screen([deletion_pairs / "run"], out, sizes=[2], **common)["designs"] == 6
    summary = screen([deletion_pairs / "run"], out, sizes=[2, 3], kinds=["deletion", "overexpression"],
                     allow_unseen=True, **common)
    assert summary["designs"] == 6 * 4 + 4 * 8
    assert Perturbation.OVEREXPRESSION  # the kind screened above
