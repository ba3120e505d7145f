"""Small automatic mutations of the instructor's solution code.

A mutant is the reference submission with one answer cell changed in one small way (a
swapped operator, a changed constant, a deleted statement, a swapped function). Hidden tests
that tell right from wrong make most mutants lose points; the survivors show the instructor
what the tests do not look at. Only code between the solution markers is mutated.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from dataclasses import dataclass

from nbformat import NotebookNode

from . import notebooks

BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
               ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}
COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                 ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
                 ast.In: ast.NotIn, ast.NotIn: ast.In}
FUNCTION_SWAPS = {"max": "min", "min": "max", "maximum": "minimum", "minimum": "maximum",
                  "argmax": "argmin", "argmin": "argmax", "sum": "mean", "mean": "sum",
                  "exp": "expm1", "log": "log1p", "tanh": "sinh", "zeros": "ones",
                  "ones": "zeros", "zeros_like": "ones_like", "ones_like": "zeros_like",
                  "any": "all", "all": "any", "sqrt": "abs", "abs": "sqrt"}


@dataclass(frozen=True)
class Mutant:
    cell: str          # grade_id of the mutated answer cell
    line: int          # line in the answer (solution markers removed)
    description: str   # "a + b -> a - b"
    source: str        # the whole mutated cell


def _solution_lines(source: str) -> tuple[str, set[int]]:
    """The answer without markers, and the line numbers (1-based) that were inside them."""
    kept, inside, within = [], set(), False
    for line in source.splitlines():
        marker = line.strip()
        if marker == notebooks.SOLUTION_BEGIN:
            within = True
        elif marker == notebooks.SOLUTION_END:
            within = False
        else:
            kept.append(line)
            if within:
                inside.add(len(kept))
    return "\n".join(kept), inside


def _mutations(node: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """Replacement nodes for `node`, each with a short label."""
    if isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
        yield ast.BinOp(node.left, BINOP_SWAPS[type(node.op)](), node.right), "operator"
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 \
            and type(node.ops[0]) in COMPARE_SWAPS:
        yield ast.Compare(node.left, [COMPARE_SWAPS[type(node.ops[0])]()],
                          node.comparators), "comparison"
    elif isinstance(node, ast.BoolOp):
        yield ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(),
                         node.values), "boolean"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield node.operand, "sign"
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        value = node.value
        if isinstance(value, bool):
            new = not value
        elif value in (0, 1):
            new = type(value)(1 - value)
        else:
            new = value + 1 if isinstance(value, int) else value * 2
        yield ast.Constant(new), "constant"
    elif isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in FUNCTION_SWAPS:
            swapped = (ast.Attribute(func.value, FUNCTION_SWAPS[name], ast.Load())
                       if isinstance(func, ast.Attribute)
                       else ast.Name(FUNCTION_SWAPS[name], ast.Load()))
            yield ast.Call(swapped, node.args, node.keywords), "function"
    elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)):
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            yield ast.Pass(), "deleted statement"


class _Replace(ast.NodeTransformer):
    def __init__(self, index: int, replacement: ast.AST):
        self.index, self.replacement, self.seen = index, replacement, -1

    def visit(self, node):
        self.seen += 1
        if self.seen == self.index:
            return ast.copy_location(self.replacement, node)
        return self.generic_visit(node)


def cell_mutants(grade_id: str, source: str) -> list[Mutant]:
    code, inside = _solution_lines(source)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    original = ast.unparse(tree)
    order = list(_visit_order(tree))
    found = []
    for index, node in enumerate(order):
        if getattr(node, "lineno", None) not in inside:
            continue
        for replacement, kind in _mutations(node):
            mutated = _Replace(index, replacement).visit(ast.parse(code))
            text = ast.unparse(ast.fix_missing_locations(mutated))
            if text == original:
                continue
            before = ast.get_source_segment(code, node) or ast.unparse(node)
            after = "pass" if kind == "deleted statement" else ast.unparse(replacement)
            found.append(Mutant(grade_id, node.lineno,
                                f"{kind}: {_short(before)} -> {_short(after)}", text))
    return found


def _visit_order(tree: ast.AST) -> Iterator[ast.AST]:
    """Nodes in the order NodeTransformer.visit reaches them (pre-order)."""
    yield tree
    for child in ast.iter_child_nodes(tree):
        yield from _visit_order(child)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def all_mutants(source_nb: NotebookNode) -> list[Mutant]:
    result = []
    for gid, cell in notebooks.cells_by_grade_id(source_nb).items():
        if cell.cell_type == "code" and notebooks.is_solution(cell):
            result.extend(cell_mutants(gid, cell.source))
    return result


def sample(mutants: list[Mutant], count: int, seed: int = 0) -> list[Mutant]:
    """`count` mutants spread over the answer cells (round robin), reproducibly."""
    rng = random.Random(seed)
    by_cell: dict[str, list[Mutant]] = {}
    for mutant in mutants:
        by_cell.setdefault(mutant.cell, []).append(mutant)
    for group in by_cell.values():
        rng.shuffle(group)
    chosen, groups = [], list(by_cell.values())
    while len(chosen) < count and any(groups):
        for group in groups:
            if group and len(chosen) < count:
                chosen.append(group.pop())
    return chosen
