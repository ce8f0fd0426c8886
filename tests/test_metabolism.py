"""Metabolism GraphSource: COBRA models as graphs; deleting genes kills exactly the reactions COBRApy kills."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from cellreg import Context
from cellreg_metabolism.gpr import parse_rule
from cellreg_ops.explicit_op import ExplicitSubgraphOp
from cellreg_ops.lazy_op import LazyMaskOp
from random_graphs import strains

cobra = pytest.importorskip("cobra")

from cellreg_metabolism.fba import FBAPhenotypesConfig, simulate  # noqa: E402
from cellreg_metabolism.graph import MetabolismGraph, MetabolismGraphConfig, graph_from_model  # noqa: E402
from cellreg_metabolism.reader import read_model  # noqa: E402


@pytest.fixture(scope="module")
def textbook():
    return read_model("textbook")


@pytest.mark.parametrize("rule,clauses", [
    ("", []),
    ("a", [{"a"}]),
    ("a or b", [{"a"}, {"b"}]),
    ("a and b", [{"a", "b"}]),
    ("a and (b or c)", [{"a", "b"}, {"a", "c"}]),
    ("(a or b) and (c or d)", [{"a", "c"}, {"a", "d"}, {"b", "c"}, {"b", "d"}]),
    ("a or (a and b)", [{"a"}]),
    ("(a and b) or (b and a and c)", [{"a", "b"}]),
])
def test_rules_in_disjunctive_normal_form(rule, clauses):
    assert sorted(map(sorted, parse_rule(rule))) == sorted(map(sorted, clauses))


def test_dnf_blowup_is_an_error():
    rule = " and ".join(f"(a{i} or b{i})" for i in range(13))  # 2^13 clauses
    with pytest.raises(ValueError, match="more than 4096 AND-clauses"):
        parse_rule(rule)


def handmade_model():
    """Genes a-d with nested AND/OR rules, checked exhaustively against COBRApy's evaluation."""
    model = cobra.Model("handmade")
    met = [cobra.Metabolite(f"m{i}", compartment="c") for i in range(3)]
    rules = ["(a and b) or c", "a", "", "a and (b or c)", "(a or b) and (c or d)", "d or (a and b and c)"]
    for i, rule in enumerate(rules):
        r = cobra.Reaction(f"R{i}")
        r.add_metabolites({met[i % 3]: -1.0, met[(i + 1) % 3]: float(i + 1)})
        model.add_reactions([r])
        r.gene_reaction_rule = rule
    return model


def cobra_dead(model, genes: list[str]) -> set[str]:
    with model:
        return {r.id for r in cobra.manipulation.knock_out_model_genes(model, genes)}


def op_dead(model, graph, sets: list[list[int]]) -> tuple[list[set[str]], list[set[str]]]:
    table = strains(graph, sets)
    rows = np.arange(len(sets))
    names = graph.extra["reaction"].names
    lazy, explicit = LazyMaskOp(graph), ExplicitSubgraphOp(graph)
    dead = lazy.dead_nodes(table, rows)["reaction"]
    by_lazy = [{names[r] for r in dead[1][dead[0] == b]} for b in rows]
    by_explicit = [{names[r] for r in np.flatnonzero(~explicit.alive_reactions(np.array(s, dtype=np.int64)))}
                   for s in sets]
    return by_lazy, by_explicit


def test_handmade_and_or_rules_match_cobra_exhaustively():
    model = handmade_model()
    graph = graph_from_model(model)
    assert sorted(graph.genes) == ["a", "b", "c", "d"]
    sets = [[g for g in range(4) if m >> g & 1] for m in range(16)]
    by_lazy, by_explicit = op_dead(model, graph, sets)
    for s, lazy, explicit in zip(sets, by_lazy, by_explicit):
        knocked = [graph.genes[g] for g in s]
        expected = {r.id for r in model.reactions if r.gene_reaction_rule and not r.gpr.eval(set(knocked))}
        assert lazy == explicit == expected == cobra_dead(model, knocked), knocked


@pytest.mark.parametrize("name,count", [("textbook", 400), ("iJO1366", 150)])
def test_deletions_kill_the_reactions_cobra_kills(name, count):
    model = read_model(name)
    graph = graph_from_model(model)
    rng = np.random.default_rng(0)
    sets = [[g] for g in range(graph.num_genes)] if name == "textbook" else []
    sets += [sorted(rng.choice(graph.num_genes, size=rng.integers(2, 4), replace=False).tolist()) for _ in range(count)]
    by_lazy, by_explicit = op_dead(model, graph, sets)
    killed = 0
    for s, lazy, explicit in zip(sets, by_lazy, by_explicit):
        expected = cobra_dead(model, [graph.genes[g] for g in s])
        assert lazy == explicit == expected, s
        killed += len(expected)
    assert killed > len(sets) / 4  # many deletions do kill reactions


def test_graph_layout_matches_the_model(textbook):
    graph = graph_from_model(textbook)
    extra = graph.extra
    names = extra["reaction"].names
    mets = extra["metabolite"].names
    assert (extra["reaction"].num_nodes, extra["metabolite"].num_nodes, graph.num_genes) == (95, 72, 137)
    stoich = extra["metabolite", "stoich", "reaction"]
    ei, coef = stoich.edge_index, stoich.coefficient
    for r in textbook.reactions:
        j = names.index(r.id)
        got = {mets[m]: c for m, c in zip(ei[0, ei[1] == j].tolist(), coef[ei[1] == j].tolist())}
        assert got == pytest.approx({m.id: c for m, c in r.metabolites.items()})
        rule = extra["gene", "rule", "reaction"].edge_index
        assert {graph.genes[g] for g in rule[0, rule[1] == j].tolist()} == {g.id for g in r.genes}
    shared = graph.relations["shared_reaction"].edge_index
    pairs = {frozenset((graph.genes[a], graph.genes[b])) for a, b in shared.t().tolist()}
    atp = textbook.reactions.get_by_id("ATPS4r")
    assert frozenset(("b3731", "b3732")) in pairs and len({g.id for g in atp.genes}) == 9


@pytest.mark.parametrize("suffix,writer", [(".json", "save_json_model"), (".yml", "save_yaml_model"),
                                           (".mat", "save_matlab_model"), (".xml", "write_sbml_model")])
def test_every_file_format_reads_to_the_same_graph(textbook, tmp_path, suffix, writer):
    path = tmp_path / f"core{suffix}"
    getattr(cobra.io, writer)(textbook, str(path))
    graph = MetabolismGraph(MetabolismGraphConfig(model=path.name), Context(base_dir=tmp_path)).load()
    reference = graph_from_model(textbook)
    assert graph.genes == reference.genes and graph.fingerprint() == reference.fingerprint()
    for et in reference.extra.edge_types:
        assert torch.equal(graph.extra[et].edge_index, reference.extra[et].edge_index), et
    with pytest.raises(FileNotFoundError, match="not a bundled model"):
        MetabolismGraph(MetabolismGraphConfig(model="missing.xml"), Context(base_dir=tmp_path)).load()


def test_fba_fitness_matches_cobra_single_deletions(textbook):
    graph = graph_from_model(textbook)
    table = simulate(graph, textbook, FBAPhenotypesConfig(doubles=50, triples=20), seed=0)
    wild = textbook.slim_optimize()
    singles = cobra.flux_analysis.single_gene_deletion(textbook, processes=1)
    growth = {next(iter(ids)): g for ids, g in zip(singles["ids"], singles["growth"])}
    sizes = table.set_sizes
    for s in np.flatnonzero(sizes == 1):
        gene = graph.genes[table.strain(s)[0][0]]
        expected = 0.0 if not np.isfinite(growth[gene]) else max(growth[gene], 0.0) / wild
        assert table.labels[s, 0] == pytest.approx(expected, abs=1e-5), gene
    single = {int(table.strain(s)[0][0]): table.labels[s, 0] for s in np.flatnonzero(sizes == 1)}
    for s in np.flatnonzero(sizes == 2):  # digenic epsilon = f_ij - f_i f_j
        i, j = table.strain(s)[0]
        assert table.labels[s, 1] == pytest.approx(table.labels[s, 0] - single[i] * single[j], abs=1e-6)
    assert np.isnan(table.labels[sizes == 1, 1]).all() and (sizes == 3).sum() == 20


def test_plugin_registry_loads_without_cobra():
    code = ("import sys; sys.modules['cobra'] = None\n"
            "from cellreg.plugin_api.registry import load_registry\n"
            "r = load_registry(allow='cellreg')\n"
            "assert r.get('graph', 'metabolism').name == 'metabolism'\n"
            "from cellreg_metabolism.reader import read_model\n"
            "try:\n    read_model('textbook')\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'cellreg[metabolism]'" in out.stdout


def test_hetero_cell_on_the_e_coli_core_model_lazy_equals_explicit(textbook):
    from cellreg_heterocell.encoder import HeteroCellConfig, HeteroCellEncoder

    graph = graph_from_model(textbook)
    rng = np.random.default_rng(1)
    table = strains(graph, [sorted(rng.choice(graph.num_genes, 3, replace=False).tolist()) for _ in range(12)])
    torch.manual_seed(0)
    enc = HeteroCellEncoder(HeteroCellConfig(dim=8, pool="attention", init_std=0.5), Context(graph=graph)).eval()
    assert set(enc.types) == {"gene", "reaction", "metabolite"}
    out = []
    for op in (LazyMaskOp(graph), ExplicitSubgraphOp(graph)):
        with torch.no_grad():
            out.append(enc(op.collate(table, np.arange(12))).aux["strains"])
    assert torch.allclose(out[0], out[1], atol=1e-5, rtol=0)
