"""The graded test cells as the grading kernels run them: the student's side only.

A test cell such as ``checks.check_value(output_size(4, 3, 2, 1), 9)`` carries its
expected value (``9``, or ``reference.upsample_nearest`` for ``check_function``; a check's
``mistakes=``, the known wrong answers, are expected values too). Sent
as it is, that value would reach the student's kernel, where the student's code can
read it: a patched ``checks``, an IPython input transformer that sees the cell's text,
``get_ipython().user_ns``, the caller's frame. So the grader never sends it. In every
graded run (the solution's and the students') each check call has its expected argument
replaced by ``None``, and the top-level statements that only served expected values
(``ref = ...``, a ``def reference_...``) are left out. Under ``COURSE_PROBE`` the checks
report the actual value only; the solution run's actual values are the expected ones,
compared in the grader's process.

It fails closed: a cell whose expected values the grader cannot *prove* it removed is an
authoring error (:class:`BadTestCell`; the build and the grader refuse the lesson). The proof:

* every check call is a statement of its own, at the top level of the cell or directly in a
  ``with`` block (never in a loop, an ``if``, a ``try``, a function, a lambda, a comprehension or
  another expression), called by its own name, its expected argument written out; no ``:=``;
* every name an expected argument reads, and, through the statements that bind it, every name
  those read, is one of: bound only by top-level statements the slice leaves out; an import (of
  this cell or an earlier one: anything the kernel could import itself); a builtin; or an
  *input*, a value the student's side of a check reads too (``pp.decode(x, skip, ...)`` beside
  ``decode(x, skip, ...)``), bound once in the cell and only passed whole to a call, never taken
  apart (``pairs[0][1]``, ``x.shape``), since the kernel holds it. Anything else (a value computed
  in a kept block or an earlier cell, or only by code the slice keeps) stays in the kernel: refused.

A name the cell does not bind is judged with the earlier cells when :func:`student_side` is given
them (the build does, for every lesson: :func:`instructor_tools.lesson.validate`); without them it is
taken for an import only where it is called or its attribute read (``reference.f``, ``np.log``).
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field

#: helpers.checks functions and the position / keyword of their expected argument.
EXPECTED_ARGUMENT = {"check_array": (1, "expected"), "check_value": (1, "expected"),
                     "check_function": (1, "reference")}
#: Keyword arguments that are expected values too, in every check: known mistakes are near-answers.
EXPECTED_KEYWORDS = frozenset({"mistakes"})

HOW = ("instead, write each check as a statement of its own, at the top level of the test cell (or directly in a "
       "`with` block), one call per case, its expected argument written out: a literal, a course function "
       "(`reference.upsample_nearest`), a call on the inputs (`pp.decode(x, skip, up, fuse)`), or a name that a "
       "top-level statement of this cell binds for the expected side alone (`ref = ...`, `def reference_...(...)`)")

_BUILTINS = frozenset(dir(builtins))
#: Names through which a cell could call a check the grader does not see (``getattr(checks, "check_" + "value")``).
_DYNAMIC = frozenset({"exec", "eval", "compile", "getattr", "__import__", "globals", "locals", "vars"})
_WHERE = ((ast.Lambda, "in a lambda"), ((ast.FunctionDef, ast.AsyncFunctionDef), "in a function"),
          (ast.ClassDef, "in a class"),
          ((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp), "in a comprehension"),
          ((ast.For, ast.AsyncFor, ast.While), "in a loop"), (ast.If, "in an if"),
          ((ast.Try, getattr(ast, "TryStar", ast.Try)), "in a try"), (ast.Match, "in a match"))


class BadTestCell(ValueError):
    """A graded test cell the grader cannot reduce to the student's side."""


def _refuse(why: str) -> BadTestCell:
    return BadTestCell(f"{why}; {HOW}")


def _check_name(call: ast.Call) -> str | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return name if name in EXPECTED_ARGUMENT else None


# --------------------------------------------------------------------------- where checks may be

def _placed_checks(tree: ast.Module) -> list[ast.Call]:
    """The check calls, each a statement at the top level or in a ``with`` block; :class:`BadTestCell` for others."""
    placed: dict[int, ast.Call] = {}

    def allowed(body: list[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) \
                    and _check_name(statement.value):
                placed[id(statement.value)] = statement.value
            elif isinstance(statement, (ast.With, ast.AsyncWith)):
                allowed(statement.body)

    allowed(tree.body)
    _misplaced(tree, placed, [])
    return list(placed.values())


def _misplaced(node: ast.AST, placed: dict, outer: list[ast.AST]) -> None:
    if isinstance(node, ast.Name) and node.id in _DYNAMIC:
        raise _refuse(f"`{node.id}` in a test cell: a check called through it would keep its expected value")
    if isinstance(node, ast.NamedExpr):
        raise _refuse(f"`{ast.unparse(node)}`: no `:=` in a test cell (bind the name in a statement of its own)")
    if isinstance(node, ast.alias) and node.name in EXPECTED_ARGUMENT and node.asname not in (None, node.name):
        raise _refuse(f"{node.name} is imported under another name ({node.asname}): the grader would not see its calls")
    if isinstance(node, ast.Call) and _check_name(node) and id(node) not in placed:
        where = next((words for ancestor in reversed(outer) for kinds, words in _WHERE if isinstance(ancestor, kinds)),
                     "inside another expression")
        raise _refuse(f"a check {where} (`{ast.unparse(node)[:60]}`): the grader cannot prove its expected value "
                      "out of the kernel")
    if isinstance(node, (ast.Name, ast.Attribute)) and (node.id if isinstance(node, ast.Name) else node.attr) \
            in EXPECTED_ARGUMENT and not (outer and isinstance(outer[-1], ast.Call) and outer[-1].func is node
                                          and id(outer[-1]) in placed):
        raise _refuse(f"`{ast.unparse(node)}` without calling it: the grader would not see the calls of an alias")
    for child in ast.iter_child_nodes(node):
        _misplaced(child, placed, [*outer, node])


def _take_expected(call: ast.Call, keep_mistakes: bool = False) -> list[ast.expr]:
    """Replace the call's expected arguments (``EXPECTED_ARGUMENT``, ``EXPECTED_KEYWORDS``) by ``None``; return them."""
    name = _check_name(call)
    position, keyword = EXPECTED_ARGUMENT[name]
    if any(isinstance(a, ast.Starred) for a in call.args) or any(kw.arg is None for kw in call.keywords):
        raise _refuse(f"{name}(*...) or {name}(**...): the expected argument must be written out")
    expected = []
    if len(call.args) > position:
        expected.append(call.args[position])
        call.args[position] = ast.Constant(None)
    for kw in call.keywords:
        if kw.arg == keyword or (kw.arg in EXPECTED_KEYWORDS and not keep_mistakes):
            expected.append(kw.value)
            kw.value = ast.Constant(None)
    return expected


# --------------------------------------------------------------------------- what code reads and binds

def _stores(nodes: list[ast.AST]) -> set[str]:
    """The names ``nodes`` bind in their own scope (not in the functions or comprehensions they define)."""
    out: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
            stack += [*node.decorator_list, *getattr(node, "bases", [])]
            continue
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            out.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            out.add(node.rest)
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        stack += ast.iter_child_nodes(node)
    return out


def _params(args: ast.arguments) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in every if a is not None}


def _uses(node: ast.AST, local: frozenset = frozenset(), role: str = "other", out: list | None = None) -> list:
    """Every name ``node`` reads from the cell's scope, with how: ``callee`` (``f(...)``), ``argument`` (passed
    whole to a call, perhaps through arithmetic or a tuple), ``attribute`` (``m.attr``) or ``other``."""
    out = [] if out is None else out
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in local:
            out.append((node.id, role))
    elif isinstance(node, ast.Call):  # what a call returns is new, unless a part of it is taken (``f(x)[0]``)
        whole = "selected" if role == "selected" else "argument"
        _uses(node.func, local, "callee" if isinstance(node.func, ast.Name) else "other", out)
        for arg in node.args:
            _uses(arg.value if isinstance(arg, ast.Starred) else arg, local,
                  "other" if isinstance(arg, ast.Starred) else whole, out)
        for kw in node.keywords:
            _uses(kw.value, local, whole if kw.arg else "other", out)
    elif isinstance(node, ast.Attribute):
        _uses(node.value, local, "attribute" if isinstance(node.value, ast.Name) else "selected", out)
    elif isinstance(node, ast.Subscript):
        _uses(node.value, local, "selected", out)
        _uses(node.slice, local, "other", out)
    elif isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Tuple, ast.List)):
        keep = role if role in ("argument", "selected") else "other"
        for child in ast.iter_child_nodes(node):
            _uses(child, local, keep, out)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        for outer in (*getattr(node, "decorator_list", []), *node.args.defaults,
                      *[d for d in node.args.kw_defaults if d is not None]):
            _uses(outer, local, "other", out)
        body = node.body if isinstance(node.body, list) else [node.body]
        declared = {n for s in ast.walk(node) if isinstance(s, (ast.Global, ast.Nonlocal)) for n in s.names}
        inner = local | ((_params(node.args) | _stores(body)) - declared)
        for statement in body:
            _uses(statement, frozenset(inner), "other", out)
    elif isinstance(node, ast.ClassDef):
        for outer in (*node.decorator_list, *node.bases, *[kw.value for kw in node.keywords]):
            _uses(outer, local, "other", out)
        for statement in node.body:
            _uses(statement, frozenset(local | _stores(node.body)), "other", out)
    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        first, *rest = node.generators
        _uses(first.iter, local, "other", out)
        inner = frozenset(local | _stores([g.target for g in node.generators]))
        for part in (*first.ifs, *[x for g in rest for x in (g.iter, *g.ifs)],
                     *[getattr(node, a) for a in ("elt", "key", "value") if hasattr(node, a)]):
            _uses(part, inner, "other", out)
    else:
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            out.append((node.target.id, "other"))  # x += ... reads x
        for child in ast.iter_child_nodes(node):
            _uses(child, local, "other", out)
    return out


def _names(node: ast.AST) -> set[str]:
    return {name for name, _ in _uses(node)}


def _target_names(target: ast.expr) -> set[str] | None:
    """The names an assignment to ``target`` binds (or changes: ``d[k] = v`` changes ``d``); None if none."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        parts = [_target_names(t) for t in target.elts]
        return None if None in parts else set().union(*parts)
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return {target.id} if isinstance(target, ast.Name) else None


def _bound(statement: ast.stmt) -> set[str] | None:
    """The names a definition statement binds, or None for any other statement (always kept)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    targets = (statement.targets if isinstance(statement, ast.Assign)
               else [statement.target] if isinstance(statement, (ast.AnnAssign, ast.AugAssign)) else None)
    if not targets:
        return None
    names = [_target_names(t) for t in targets]
    return None if None in names else set().union(*names)


def _slice(body: list[ast.stmt]) -> set[int]:
    """The top-level statements to keep: a backward slice from every statement that is not a definition."""
    needed: set[str] = set()
    kept: set[int] = set()
    for i in reversed(range(len(body))):
        bound = _bound(body[i])
        if bound is not None and not bound & needed:
            continue
        kept.add(i)
        needed |= _names(body[i])
    return kept


# --------------------------------------------------------------------------- the proof

@dataclass
class _Binding:
    """A statement of the cell that binds names, as the proof sees it (a ``with`` block's are its own)."""

    node: ast.AST  # what it reads: the statement, or a with statement's items
    names: set[str]
    kept: bool
    imports: bool
    line: int


@dataclass
class _Cell:
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)
    inputs: set[str] = field(default_factory=set)  # names the student's side of the checks reads
    earlier: dict[str, bool] | None = None  # name -> bound by imports only, in the earlier cells (None: unknown)

    def add(self, binding: _Binding) -> None:
        for name in binding.names:
            self.bindings.setdefault(name, []).append(binding)


def _flatten(body: list[ast.stmt], kept: set[int] | None, cell: _Cell) -> None:
    for i, statement in enumerate(body):
        keep = True if kept is None else i in kept
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            items = ast.Tuple([x for item in statement.items for x in (item.context_expr, item.optional_vars) if x],
                              ast.Load())
            cell.add(_Binding(items, _stores([items]), keep, False, statement.lineno))
            _flatten(statement.body, None, cell)
        else:
            cell.add(_Binding(statement, _stores([statement]), keep,
                              isinstance(statement, (ast.Import, ast.ImportFrom)), statement.lineno))


def _earlier_names(earlier: Sequence[str]) -> dict[str, bool] | None:
    """Name -> whether only imports bind it, over the earlier cells; None if one of them is not plain Python."""
    imports: dict[str, bool] = {}
    for source in earlier:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return None
        for statement in tree.body:
            only_import = isinstance(statement, (ast.Import, ast.ImportFrom))
            for name in _stores([statement]):
                imports[name] = imports.get(name, True) and only_import
    return imports


def _closure(start: set[str], cell: _Cell) -> set[str]:
    """``start`` and every name the statements binding them read, transitively."""
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [n for b in cell.bindings.get(name, []) for n in _names(b.node)]
    return seen


def _prove(expected: ast.expr, cell: _Cell) -> None:
    """:class:`BadTestCell` unless nothing ``expected`` reads can be in the student's kernel (module docstring)."""
    todo, visited = [expected], set()
    while todo:
        for name, role in _uses(todo.pop()):
            bindings = cell.bindings.get(name, [])
            if bindings and all(b.imports for b in bindings):
                continue
            if bindings and not any(b.kept for b in bindings):  # left out of the kernel: what it reads, in turn
                todo += [b.node for b in bindings if id(b) not in visited]
                visited |= {id(b) for b in bindings}
                continue
            if not bindings and cell.earlier is not None and name in cell.earlier:
                if cell.earlier[name]:
                    continue
                _input(name, role, cell, "which an earlier cell computes")
            elif bindings:
                where = " and ".join(f"line {b.line}" for b in bindings)
                if len(bindings) > 1:
                    raise _refuse(f"the expected value reads `{name}`, bound {len(bindings)} times in the cell "
                                  f"({where}), in the student's kernel: give each value a name of its own")
                _input(name, role, cell, f"which the student's kernel computes ({where})")
            elif name in _BUILTINS or role in ("callee", "attribute"):  # taken for an import (the build checks)
                continue
            elif name in cell.inputs:
                _input(name, role, cell, "")
            else:
                raise _refuse(f"the expected value reads `{name}`, which this cell does not bind: from an earlier "
                              "cell, it is in the student's kernel (compute it in this cell, or import it)")


_TAKES = {"attribute": "reads an attribute of", "selected": "takes a part of", "other": "uses the value of"}


def _input(name: str, role: str, cell: _Cell, where: str) -> None:
    """A kernel value the expected side reads: only an input of the student's side, passed whole to a call."""
    if name not in cell.inputs:
        raise _refuse(f"the expected value reads `{name}`, {where} for the expected side alone: the answer would "
                      "be in the student's kernel")
    if role not in ("callee", "argument"):
        raise _refuse(f"the expected value {_TAKES[role]} `{name}`, an input that the student's kernel holds, so what "
                      f"it takes out of it is in the kernel too: pass `{name}` whole to a function")


def student_side(source: str, earlier: Sequence[str] | None = None, checks_required: bool = True,
                 keep_mistakes: bool = False) -> str:
    """``source`` without its expected values (see the module docstring); :class:`BadTestCell` if impossible.

    ``earlier``: the code cells before it, to judge the names it does not bind itself. ``checks_required``:
    a cell without check calls is refused too (the grader's need: a test must compare values; the build
    only proves that no expected value stays in the kernel). ``keep_mistakes``: for the solution's run
    only, the checks keep their ``mistakes=`` (and what it needs), so that the run reports the known
    mistakes' values and the grader can name them; the students' runs never get them.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise BadTestCell(f"the test cell is not plain Python ({exc.msg}, line {exc.lineno})") from None
    checks = _placed_checks(tree)
    if not checks and checks_required:
        raise BadTestCell("the test cell calls no check_array, check_value or check_function")
    expected = [e for call in checks for e in _take_expected(call, keep_mistakes)]
    kept = _slice(tree.body)
    cell = _Cell(earlier=None if earlier is None else _earlier_names(earlier))
    _flatten(tree.body, kept, cell)
    cell.inputs = _closure({n for call in checks for n in _names(call)}, cell)
    for value in expected:
        _prove(value, cell)
    tree.body = [s for i, s in enumerate(tree.body) if i in kept]
    return ast.unparse(tree) + "\n"
