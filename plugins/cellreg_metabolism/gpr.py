"""Gene–reaction rules (AND/OR expressions) in disjunctive normal form.

``a and (b or c)`` becomes ``{a, b} or {a, c}``: a reaction runs while one of its clauses keeps all
its genes, the semantics of COBRApy's ``GPR.eval``. Rules arrive as COBRApy's parsed ``ast``
(``reaction.gpr.body``) or as text; no COBRApy import is needed here.
"""

from __future__ import annotations

import ast

Clause = frozenset[str]


def dnf(node: ast.AST | None, max_clauses: int = 4096) -> list[Clause]:
    """The rule as distinct AND-clauses, subsumed clauses dropped; ``[]`` for no rule."""
    if node is None:
        return []
    if isinstance(node, ast.Expression):
        return dnf(node.body, max_clauses)
    if isinstance(node, ast.Name):
        return [frozenset([node.id])]
    if isinstance(node, ast.BoolOp):
        parts = [dnf(v, max_clauses) for v in node.values]
        if isinstance(node.op, ast.Or):
            clauses = {c for p in parts for c in p}
        else:
            clauses = {frozenset()}
            for p in parts:
                clauses = {a | b for a in clauses for b in p}
                if len(clauses) > max_clauses:
                    raise ValueError(f"gene rule expands to more than {max_clauses} AND-clauses")
        return _minimal(clauses)
    raise ValueError(f"unsupported element in a gene rule: {ast.dump(node)}")


def parse_rule(text: str, max_clauses: int = 4096) -> list[Clause]:
    """DNF of a rule written as text (``and``/``or``, parentheses; empty = no rule)."""
    text = text.strip()
    if not text:
        return []
    return dnf(ast.parse(text, mode="eval"), max_clauses)


def _minimal(clauses: set[Clause]) -> list[Clause]:
    """Drop clauses that contain another (``a or (a and b)`` is ``a``); sorted for determinism."""
    ordered = sorted(clauses, key=lambda c: (len(c), sorted(c)))
    kept: list[Clause] = []
    for c in ordered:
        if not any(k <= c for k in kept):
            kept.append(c)
    return kept
