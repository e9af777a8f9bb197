"""The graded test cells as the grading kernels run them: the student's side only.

A test cell such as ``checks.check_value(output_size(4, 3, 2, 1), 9)`` carries its
expected value (``9``, or ``reference.upsample_nearest`` for ``check_function``). Sent
as it is, that value would reach the student's kernel, where the student's code can
read it: a patched ``checks``, an IPython input transformer that sees the cell's text,
``get_ipython().user_ns``. So the grader never sends it. In every graded run (the
solution's and the students') each check call has its expected argument replaced by
``None``, and the statements that only served expected values (``ref = ...``, a
``def reference_...``) are left out. Under ``COURSE_PROBE`` the checks report the actual
value only; the solution run's actual values are the expected ones, compared in the
grader's process.
"""

from __future__ import annotations

import ast

#: helpers.checks functions and the position / keyword of their expected argument.
EXPECTED_ARGUMENT = {"check_array": (1, "expected"), "check_value": (1, "expected"),
                     "check_function": (1, "reference")}


class BadTestCell(ValueError):
    """A graded test cell the grader cannot reduce to the student's side."""


def _check_name(call: ast.Call) -> str | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return name if name in EXPECTED_ARGUMENT else None


class _DropExpected(ast.NodeTransformer):
    """Every check call, wherever it is in the cell, loses its expected argument."""

    def __init__(self) -> None:
        self.calls = 0

    def visit_Call(self, node: ast.Call) -> ast.Call:  # noqa: N802 - ast's naming
        self.generic_visit(node)
        name = _check_name(node)
        if name is None:
            return node
        position, keyword = EXPECTED_ARGUMENT[name]
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise BadTestCell(f"{name}(*...): the expected argument must be written out")
        if len(node.args) > position:
            node.args[position] = ast.Constant(None)
        for kw in node.keywords:
            if kw.arg is None:
                raise BadTestCell(f"{name}(**...): the expected argument must be written out")
            if kw.arg == keyword:
                kw.value = ast.Constant(None)
        self.calls += 1
        return node


def _bound(statement: ast.stmt) -> set[str] | None:
    """The names a definition statement binds, or None for any other statement (always kept)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    targets = (statement.targets if isinstance(statement, ast.Assign)
               else [statement.target] if isinstance(statement, (ast.AnnAssign, ast.AugAssign)) else None)
    if targets is None:
        return None
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _loaded(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def student_side(source: str) -> str:
    """``source`` without its expected values (see the module docstring); :class:`BadTestCell` if impossible."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise BadTestCell(f"the test cell is not plain Python ({exc.msg}, line {exc.lineno})") from None
    dropper = _DropExpected()
    tree = dropper.visit(tree)
    if not dropper.calls:
        raise BadTestCell("the test cell calls no check_array, check_value or check_function")
    needed: set[str] = set()
    kept: list[ast.stmt] = []
    for statement in reversed(tree.body):  # a backward slice: keep what the kept statements read
        bound = _bound(statement)
        if bound is not None and not bound & needed:
            continue
        kept.append(statement)
        needed |= _loaded(statement)
    tree.body = kept[::-1]
    return ast.unparse(tree) + "\n"
