"""Mutation run over the checks: `make mutate` or `.venv/bin/python bench/mutate.py [options]`. Not part of CI.

Single-point mutants of kubectl_aiconf/checks/*.py are generated with `ast`, listed in a fixed order, sampled
with a fixed seed, and each is run against the unit tests that exercise checks. A mutant the tests do not notice
("survived") sits in a branch no fixture reaches; the report names its line so that a fixture can be written.

    .venv/bin/python bench/mutate.py                          # 120 mutants of every checks/ module, seed 1
    .venv/bin/python bench/mutate.py --sample 6 --module checks/operator.py
    .venv/bin/python bench/mutate.py --sample 0 --list        # every mutant, not run
    .venv/bin/python bench/mutate.py --fail-under 90          # exit 1 when the score is below 90%

Mutation operators (only inside function and lambda bodies):
  compare   == <-> !=, < <-> >=, <= <-> >, in <-> not in, is <-> is not (one mutant per operator of a chain)
  boolop    and <-> or
  not       drop a `not`
  bool      True <-> False
  int       0 -> 1, 1 -> 0, n -> n+1 (0 <= n <= 100)
  status    Status.PASS->WARN, WARN->FAIL, FAIL->WARN, UNKNOWN->PASS, NA->FAIL
  if        `if cond:` -> `if not (cond):`
  strings   drop one element of a tuple/set of string literals (not of a record inside a table)

Never mutated, because a change there cannot change a verdict or is not code that runs in a check:
docstrings; f-strings (their text and their {fields}: wording, which tests deliberately do not assert) and
conditional expressions that only choose between texts (`" (managed)" if managed else ""`); `if TYPE_CHECKING`
blocks; annotations; decorators and defaults of module-level functions; module-level constants; slice bounds
(`items[:3]` only bounds how many objects a message lists). A mutant whose bytecode equals the original's is
equivalent and dropped; one whose bytecode equals another mutant's is kept once (`if not (x is None)` and
`if x is not None`: the comparison is kept).

Each mutant is a minimal edit of the source text (the rest of the file is byte-for-byte the original, so line
numbers hold), checked by parsing: the mutated file's AST must equal the original AST with exactly that one node
changed.

Per module the tests are: tests/test_checks_<module>.py, tests/test_runner.py and tests/test_blind_sweep.py
restricted with -k to the checks the module defines (its @requirement_check ids). A module defining no check
(common.py, __init__.py) is used by all of them, so it gets every tests/test_checks_*.py and the whole sweep.
Before any mutant of a module runs, its tests run on the unmutated copy; when that baseline fails, the module is
reported as skipped rather than counting every mutant as killed.
"""

from __future__ import annotations

import argparse
import ast
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CHECKS = Path("kubectl_aiconf") / "checks"
REPORT = REPO / "build" / "mutation-report.txt"
# What a worker's copy holds: enough to import the package and run the unit tests, nothing the tests write.
COPIED = ("kubectl_aiconf", "tests", "testdata", "pyproject.toml", "conftest.py")
PYTEST_FLAGS = ("-x", "-q", "-p", "no:cacheprovider")

STATUS_SWAP = {"PASS": "WARN", "WARN": "FAIL", "FAIL": "WARN", "UNKNOWN": "PASS", "NA": "FAIL"}
COMPARE_SWAP: dict[type, type] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.LtE: ast.Gt,
    ast.Gt: ast.LtE,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
OP_TEXT = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.GtE: ">=",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
# How each operator is spelled in source, so that only the operator token is rewritten. `<` must not match
# the first half of `<=`; `in` and `is` are whole words (`in` inside `not in` is excluded because the search
# runs on the text between the two operands, which for NotIn contains `not in` and uses its own pattern).
OP_PATTERN = {
    ast.Eq: r"==",
    ast.NotEq: r"!=",
    ast.Lt: r"<(?!=)",
    ast.GtE: r">=",
    ast.LtE: r"<=",
    ast.Gt: r">(?!=)",
    ast.In: r"(?<![\w])in\b",
    ast.NotIn: r"\bnot\s+in\b",
    ast.Is: r"\bis\b(?!\s+not\b)",
    ast.IsNot: r"\bis\s+not\b",
}
MAX_INT = 100

Edit = tuple[int, int, bytes]  # (start, end, replacement): byte offsets, end exclusive


# ---------------------------------------------------------------------------------------------------- mutants


@dataclass(frozen=True)
class Mutant:
    module: str  # "operator" (a file kubectl_aiconf/checks/<module>.py)
    line: int
    col: int
    operator: str  # compare, boolop, not, bool, int, status, if, strings
    change: str  # "== -> !=", for --list and progress lines
    edits: tuple[Edit, ...]  # in the module file
    original_line: str
    mutated_line: str

    @property
    def path(self) -> str:
        return str(CHECKS / f"{self.module}.py")

    def apply(self, source: bytes) -> bytes:
        for start, end, text in sorted(self.edits, reverse=True):
            source = source[:start] + text + source[end:]
        return source

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Site:
    """One mutation of one node: how to change the tree (for the check) and how to change the text."""

    operator: str
    change: str
    node: Any  # an ast.expr: where the mutant is reported
    mutate_tree: Callable[[], Callable[[], None]]  # applies the change in place, returns its undo
    edits: Callable[[], list[Edit] | None]  # minimal text edits, None when not found
    replacement: Callable[[], ast.AST]  # the mutated `whole`, built from the unmutated tree, for the fallback
    whole: ast.AST | None = None  # the node the fallback edit rewrites, when not `node` itself


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _only_words(expr: ast.expr) -> bool:
    """A string literal, an f-string, or a sum or choice of them: text for a message."""
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, str)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _only_words(expr.left) and _only_words(expr.right)
    if isinstance(expr, ast.IfExp):
        return _only_words(expr.body) and _only_words(expr.orelse)
    return isinstance(expr, ast.JoinedStr)


def _runtime_nodes(
    node: ast.AST, in_body: bool = False, parent: ast.AST | None = None
) -> Iterator[tuple[ast.AST, ast.AST | None]]:
    """(node, parent) for every node whose evaluation happens when a check runs, in source order."""
    if isinstance(node, ast.JoinedStr):
        return  # an f-string only words a message
    if isinstance(node, ast.IfExp) and _only_words(node):
        return  # `" (GKE-managed)" if managed else ""`: its condition, too, only words a message
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for stmt in node.orelse:
            yield from _runtime_nodes(stmt, in_body, node)
        return
    if isinstance(node, ast.stmt) and _is_docstring(node):
        return
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        # Decorators and defaults run where the `def` runs: at import for a module-level function (not a check's
        # behaviour), at call time for a nested one. Annotations never run (`from __future__ import annotations`).
        for expr in [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            yield from _runtime_nodes(expr, in_body, node)
        for stmt in node.body:
            yield from _runtime_nodes(stmt, True, node)
        return
    if isinstance(node, ast.Lambda):
        for expr in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            yield from _runtime_nodes(expr, in_body, node)
        yield from _runtime_nodes(node.body, True, node)
        return
    if isinstance(node, ast.AnnAssign):
        for child in (node.target, node.value):
            if child is not None:
                yield from _runtime_nodes(child, in_body, node)
        return
    if in_body:
        yield node, parent
    for sub_node in ast.iter_child_nodes(node):
        yield from _runtime_nodes(sub_node, in_body, node)


class Source:
    """A module's bytes with (lineno, col_offset) -> byte offset; ast columns are UTF-8 byte offsets."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.starts = [0]
        for line in data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def start(self, node: Any) -> int:  # an ast.expr or ast.stmt: plain ast.AST has no position
        return self.starts[node.lineno - 1] + node.col_offset

    def end(self, node: Any) -> int:
        return self.starts[node.end_lineno - 1] + node.end_col_offset

    def line(self, number: int, data: bytes | None = None) -> str:
        lines = (data if data is not None else self.data).splitlines()
        return lines[number - 1].decode().strip() if number <= len(lines) else ""


def _replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> Callable[[], None]:
    """Put `new` where `old` is in `parent`; returns the undo."""
    for name, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, name, new)
            return lambda: setattr(parent, name, old)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return lambda: value.__setitem__(i, old)
    raise LookupError("child not found")


def _find_one(src: Source, start: int, end: int, pattern: str) -> tuple[int, int] | None:
    """The one match of `pattern` in src[start:end] (the text between two operands), as absolute offsets."""
    text = src.data[start:end].decode()
    matches = list(re.finditer(pattern, text))
    if len(matches) != 1:
        return None  # a comment between the operands, say: fall back to rewriting the whole node
    prefix = text[: matches[0].start()].encode()
    return start + len(prefix), start + len(prefix) + len(matches[0].group().encode())


def _sites(node: ast.AST, parent: ast.AST | None, src: Source) -> Iterator[Site]:
    """Every mutation of `node` (whose parent is `parent`), in a fixed order."""
    if isinstance(node, ast.Compare):
        for i in range(len(node.ops)):
            yield _compare(node, i, src)
    elif isinstance(node, ast.BoolOp):
        yield _boolop(node, src)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and parent is not None:
        yield _drop_not(node, parent, src)
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield _constant(node, "bool", not node.value, src)
    elif (
        isinstance(node, ast.Constant)
        and type(node.value) is int
        and 0 <= node.value <= MAX_INT
        and not isinstance(parent, ast.Slice)
    ):
        yield _constant(node, "int", {0: 1, 1: 0}.get(node.value, node.value + 1), src)
    elif (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Status"
        and node.attr in STATUS_SWAP
        and isinstance(node.ctx, ast.Load)
    ):
        yield _status(node, src)
    # `if not x` is already mutated to `if x` by dropping the `not`; negating it again would be the same mutant.
    if isinstance(node, ast.If) and not (isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)):
        yield _negate_if(node, src)
    # A tuple of strings inside another tuple or list is a record (a pair unpacked in a loop), not a set of
    # accepted values: dropping one of its fields only breaks the unpacking, which any test notices.
    if (
        isinstance(node, (ast.Tuple, ast.Set))
        and len(node.elts) >= 2
        and isinstance(getattr(node, "ctx", ast.Load()), ast.Load)
        and not isinstance(parent, (ast.Tuple, ast.List, ast.Set))
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    ):
        for i in range(len(node.elts)):
            yield _drop_string(node, i, src)


def _compare(node: ast.Compare, i: int, src: Source) -> Site:
    op, new = node.ops[i], COMPARE_SWAP[type(node.ops[i])]()
    left = node.left if i == 0 else node.comparators[i - 1]

    def tree() -> Callable[[], None]:
        node.ops[i] = new
        return lambda: node.ops.__setitem__(i, op)

    def edits() -> list[Edit] | None:
        found = _find_one(src, src.end(left), src.start(node.comparators[i]), OP_PATTERN[type(op)])
        return None if found is None else [(*found, OP_TEXT[type(new)].encode())]

    return Site(
        "compare",
        f"{OP_TEXT[type(op)]} -> {OP_TEXT[type(new)]}",
        node,
        tree,
        edits,
        lambda: ast.Compare(node.left, [*node.ops[:i], new, *node.ops[i + 1 :]], node.comparators),
    )


def _boolop(node: ast.BoolOp, src: Source) -> Site:
    old_op = node.op
    old_word, new_word = ("and", "or") if isinstance(old_op, ast.And) else ("or", "and")

    def flipped() -> ast.boolop:
        return ast.Or() if isinstance(old_op, ast.And) else ast.And()

    def tree() -> Callable[[], None]:
        node.op = flipped()
        return lambda: setattr(node, "op", old_op)

    def edits() -> list[Edit] | None:
        out = []
        for a, b in zip(node.values, node.values[1:]):
            found = _find_one(src, src.end(a), src.start(b), rf"\b{old_word}\b")
            if found is None:
                return None
            out.append((*found, new_word.encode()))
        return out

    return Site("boolop", f"{old_word} -> {new_word}", node, tree, edits, lambda: ast.BoolOp(flipped(), node.values))


def _drop_not(node: ast.UnaryOp, parent: ast.AST, src: Source) -> Site:
    def edits() -> list[Edit] | None:
        found = _find_one(src, src.start(node), src.start(node.operand), r"^not\b\s*")
        return None if found is None else [(*found, b"")]

    return Site(
        "not", "drop not", node, lambda: _replace_child(parent, node, node.operand), edits, lambda: node.operand
    )


def _constant(node: ast.Constant, operator: str, new: bool | int, src: Source) -> Site:
    old: Any = node.value

    def tree() -> Callable[[], None]:
        node.value = new
        return lambda: setattr(node, "value", old)

    return Site(
        operator,
        f"{old} -> {new}",
        node,
        tree,
        lambda: [(src.start(node), src.end(node), str(new).encode())],
        lambda: ast.Constant(new),
    )


def _status(node: ast.Attribute, src: Source) -> Site:
    old, new = node.attr, STATUS_SWAP[node.attr]

    def tree() -> Callable[[], None]:
        node.attr = new
        return lambda: setattr(node, "attr", old)

    return Site(
        "status",
        f"Status.{old} -> Status.{new}",
        node,
        tree,
        lambda: [(src.end(node) - len(old), src.end(node), new.encode())],
        lambda: ast.Attribute(node.value, new, ast.Load()),
    )


def _negate_if(node: ast.If, src: Source) -> Site:
    old = node.test

    def tree() -> Callable[[], None]:
        node.test = ast.copy_location(ast.UnaryOp(ast.Not(), old), old)  # compile() needs positions
        return lambda: setattr(node, "test", old)

    return Site(
        "if",
        "if c -> if not (c)",
        old,
        tree,
        lambda: [(src.start(old), src.start(old), b"not ("), (src.end(old), src.end(old), b")")],
        lambda: ast.UnaryOp(ast.Not(), old),
    )


def _drop_string(node: ast.Tuple | ast.Set, i: int, src: Source) -> Site:
    elt = node.elts[i]

    def tree() -> Callable[[], None]:
        del node.elts[i]
        return lambda: node.elts.insert(i, elt)

    def edits() -> list[Edit] | None:
        # The element and the comma after it (before it, for the last one), so the lines stay put; a tuple left
        # with one element needs its trailing comma, or ("a") would be a string.
        comma = b"," if isinstance(node, ast.Tuple) and len(node.elts) == 2 else b""
        if i + 1 < len(node.elts):
            after = src.end(node.elts[i + 1])
            return [(src.start(elt), src.start(node.elts[i + 1]), b""), (after, after, comma)]
        return [(src.end(node.elts[i - 1]), src.end(elt), comma)]

    def repl() -> ast.AST:
        rest = node.elts[:i] + node.elts[i + 1 :]
        return ast.Tuple(rest, ast.Load()) if isinstance(node, ast.Tuple) else ast.Set(rest)

    value = elt.value if isinstance(elt, ast.Constant) else "?"
    return Site("strings", f"drop {value!r}", elt, tree, edits, repl, whole=node)


def _fingerprint(code) -> tuple:
    """What a code object does, without line numbers: equal fingerprints mean an equivalent mutant."""
    consts = tuple(_fingerprint(c) if hasattr(c, "co_code") else (type(c).__name__, repr(c)) for c in code.co_consts)
    return (code.co_name, code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=False)


def check_ids(tree: ast.Module) -> list[str]:
    """The requirement ids of the @requirement_check decorators in a module."""
    ids: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                if (
                    isinstance(dec, ast.Call)
                    and getattr(dec.func, "id", getattr(dec.func, "attr", None)) == "requirement_check"
                    and dec.args
                    and isinstance(dec.args[0], ast.Constant)
                ):
                    ids.append(str(dec.args[0].value))
    return sorted(ids)


@dataclass
class Enumeration:
    mutants: list[Mutant] = field(default_factory=list)
    equivalent: int = 0  # dropped: same bytecode as the original
    duplicate: int = 0  # dropped: same bytecode as an earlier mutant
    unplaced: int = 0  # dropped: no text edit reproduced the tree change (a bug here, reported if ever seen)


def enumerate_module(module: str, data: bytes, out: Enumeration) -> None:
    """Every mutant of one module, in source order. Each top-level statement is parsed and checked alone, which
    keeps listing every mutant of checks/ to a few seconds."""
    src = Source(data)
    tree = ast.parse(data)
    for top in tree.body:
        if not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) for n in ast.walk(top)):
            continue
        first = min([top.lineno] + [d.lineno for d in getattr(top, "decorator_list", [])])
        lo, hi = src.starts[first - 1], src.starts[top.end_lineno or top.lineno]
        snippet = Source(data[lo:hi])
        stree = ast.parse(snippet.data)
        original_dump = _dump(stree)
        original_code = _fingerprint(compile(stree, module, "exec"))
        found: dict[tuple, tuple[tuple, Mutant]] = {}  # bytecode -> (place, mutant)
        for order, (node, parent) in enumerate(_runtime_nodes(stree.body[0])):
            for sub, site in enumerate(_sites(node, parent, snippet)):
                # When a minimal edit cannot be found (a comment between two operands, a tuple left with one
                # element), the whole node is rewritten, parenthesised so that precedence cannot change.
                whole = site.whole or site.node
                fallback = [(snippet.start(whole), snippet.end(whole), f"({ast.unparse(site.replacement())})".encode())]
                undo = site.mutate_tree()
                try:
                    expected = _dump(stree)
                    expected_code = _fingerprint(compile(stree, module, "exec"))
                finally:
                    undo()
                if expected == original_dump or expected_code == original_code:
                    out.equivalent += 1
                    continue
                if expected_code in found and (site.operator == "if" or found[expected_code][1].operator != "if"):
                    # `if not (x is None)` compiles like `if x is not None`: one mutant, the plainer spelling.
                    out.duplicate += 1
                    continue
                edits = _placed(snippet.data, expected, [site.edits(), fallback if site.operator != "if" else None])
                if edits is None:
                    out.unplaced += 1
                    continue
                if expected_code in found:
                    out.duplicate += 1
                line = first + site.node.lineno - 1
                mutant = Mutant(
                    module,
                    line,
                    site.node.col_offset,
                    site.operator,
                    site.change,
                    tuple((lo + s, lo + e, t) for s, e, t in edits),
                    src.line(line),
                    "",
                )
                mutant = replace(mutant, mutated_line=src.line(line, mutant.apply(data)))
                found[expected_code] = ((line, site.node.col_offset, order, sub), mutant)
        out.mutants.extend(m for _, m in sorted(found.values(), key=lambda pair: pair[0]))


def _placed(snippet: bytes, expected: str, candidates: list[list[Edit] | None]) -> list[Edit] | None:
    """The first candidate text edit whose result parses to exactly the expected tree."""
    for edits in candidates:
        if edits is None:
            continue
        text = snippet
        for start, end, new in sorted(edits, reverse=True):
            text = text[:start] + new + text[end:]
        try:
            if _dump(ast.parse(text)) == expected:
                return edits
        except SyntaxError:
            pass
    return None


def list_mutants(snapshot: Path, modules: list[str]) -> Enumeration:
    out = Enumeration()
    for module in modules:
        enumerate_module(module, (snapshot / CHECKS / f"{module}.py").read_bytes(), out)
    return out


def sample(mutants: list[Mutant], n: int, seed: int) -> list[Mutant]:
    """n mutants chosen with `seed` from the full ordered list, kept in list order (0: all)."""
    if n <= 0 or n >= len(mutants):
        return list(mutants)
    chosen = sorted(random.Random(seed).sample(range(len(mutants)), n))
    return [mutants[i] for i in chosen]


# ---------------------------------------------------------------------------------------------------- running


def test_command(snapshot: Path, module: str, ids: list[str]) -> list[str]:
    """pytest arguments for the tests that exercise `module`; its own tests first, so -x stops early."""
    own = Path("tests") / f"test_checks_{module}.py"
    if ids:
        files = [str(own)] if (snapshot / own).exists() else []
        files += ["tests/test_runner.py", "tests/test_blind_sweep.py"]
        # -k also sees module names, so the module's own test file and test_runner.py stay fully selected.
        keyword = " or ".join([f"test_checks_{module}", "test_runner", *ids])
        return [*files, "-k", keyword]
    own_tests = sorted(str(p.relative_to(snapshot)) for p in (snapshot / "tests").glob("test_checks_*.py"))
    return [*own_tests, "tests/test_runner.py", "tests/test_blind_sweep.py"]


@dataclass
class Outcome:
    killed: bool
    timed_out: bool
    rc: int
    wall: float
    cpu: float
    detail: str  # the first failing test, or the tail of the output


class Runner:
    """Workers, each with its own copy of the repo; a mutant is written into a copy, tested, and undone."""

    def __init__(self, snapshot: Path, root: Path, jobs: int) -> None:
        self.snapshot = snapshot
        self.free: queue.Queue[Path] = queue.Queue()
        self.running: dict[int, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.stopping = False
        for i in range(jobs):
            work = root / f"w{i}"
            shutil.copytree(snapshot, work, ignore=shutil.ignore_patterns("__pycache__"))
            self._check_isolation(work)
            self.free.put(work)

    def env(self, work: Path) -> dict[str, str]:
        env = dict(os.environ)
        # The copy's package must win over the editable install that points at the repo.
        env["PYTHONPATH"] = str(work)
        # No bytecode cache: a mutant written in the same second and of the same size as the previous one
        # would otherwise be run from the stale .pyc.
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.setdefault("AICONF_SHARED", str(REPO.parent / "shared"))  # the copy has no ../shared beside it
        return env

    def _check_isolation(self, work: Path) -> None:
        out = subprocess.run(
            [sys.executable, "-c", "import kubectl_aiconf.checks as c; print(c.__file__)"],
            cwd=work,
            env=self.env(work),
            capture_output=True,
            text=True,
            check=False,
        )
        where = Path(out.stdout.strip() or "?").resolve()
        if out.returncode or work.resolve() not in where.parents:
            raise SystemExit(
                f"mutate: the worker copy imports kubectl_aiconf from {where}, not from {work}: "
                f"mutants would not be tested\n{out.stderr}"
            )

    def run(self, module: str, args: list[str], data: bytes | None, timeout: float) -> Outcome:
        """Run pytest `args` in a free copy with kubectl_aiconf/checks/<module>.py replaced by `data`."""
        work = self.free.get()
        target = work / CHECKS / f"{module}.py"
        original = target.read_bytes()
        try:
            if data is not None:
                target.write_bytes(data)
            return self._pytest(work, args, timeout)
        finally:
            target.write_bytes(original)
            self.free.put(work)

    def _pytest(self, work: Path, args: list[str], timeout: float) -> Outcome:
        if self.stopping:
            return Outcome(True, False, -1, 0.0, 0.0, "interrupted")
        log = work.parent / f"{work.name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pytest", *PYTEST_FLAGS, *args],
                cwd=work,
                env=self.env(work),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # its own process group, so a timeout kills it whole
        with self.lock:
            self.running[proc.pid] = proc
        start = time.monotonic()
        timed_out = False
        # Wait without reaping (WNOWAIT): until the process is reaped below its pid cannot be reused, so the
        # kill on timeout or Ctrl-C can only reach this pytest.
        while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if not timed_out and time.monotonic() - start > timeout:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.05)
        wall = time.monotonic() - start
        with self.lock:
            _, status, usage = os.wait4(proc.pid, 0)
            del self.running[proc.pid]
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
        text = log.read_text(errors="replace")
        lines = text.splitlines()
        failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
        detail = "timeout" if timed_out else (failed[0] if failed else " / ".join(lines[-3:]))
        errors = [line[1:].strip() for line in lines if line.startswith("E  ")]
        if failed and failed[0].endswith("...") and errors:
            detail = f"{failed[0].split(' - ')[0]} - {errors[0]}"  # pytest cut the reason short: the E line has it
        return Outcome(rc != 0 or timed_out, timed_out, rc, wall, usage.ru_utime + usage.ru_stime, detail)

    def interrupt(self) -> None:
        self.stopping = True
        with self.lock:
            for pid in self.running:
                os.killpg(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------------- report


def _module_names(requested: list[str] | None, snapshot: Path) -> list[str]:
    available = sorted(p.stem for p in (snapshot / CHECKS).glob("*.py"))
    if not requested:
        return available
    names = []
    for name in requested:
        stem = Path(name).stem if name.endswith(".py") else Path(name).name
        if stem not in available:
            raise SystemExit(f"mutate: no module {name!r} in {CHECKS} (have: {', '.join(available)})")
        names.append(stem)
    return sorted(set(names))


def _percent(killed: int, total: int) -> str:
    return f"{100 * killed / total:.0f}%" if total else "-"


def summarize(
    args,
    enumeration: Enumeration,
    chosen: list[Mutant],
    results: dict[Mutant, Outcome],
    baselines: dict[str, Outcome],
    elapsed: float,
) -> tuple[list[str], float | None]:
    lines = [
        (
            f"mutation run of {CHECKS}: {len(chosen)} of {len(enumeration.mutants)} mutants, seed {args.seed}, "
            f"{args.jobs} workers ({enumeration.equivalent} equivalent and {enumeration.duplicate} duplicate mutants "
            "not generated)"
        )
    ]
    if enumeration.unplaced:
        lines.append(f"warning: {enumeration.unplaced} mutants could not be written as a source edit and were left out")
    lines += ["", f"{'module':<28}{'mutants':>8}{'killed':>8}{'timeout':>9}{'score':>7}"]
    total_run = total_killed = 0
    for module in sorted({m.module for m in chosen}):
        mine = [m for m in chosen if m.module == module]
        name = f"checks/{module}.py"
        base = baselines.get(module)
        if base is not None and base.killed:
            lines.append(f"{name:<28}{len(mine):>8}  baseline fails, module skipped ({base.detail})")
            continue
        done = [results[m] for m in mine if m in results]
        killed = sum(o.killed for o in done)
        total_run += len(done)
        total_killed += killed
        lines.append(
            f"{name:<28}{len(done):>8}{killed:>8}{sum(o.timed_out for o in done):>9}{_percent(killed, len(done)):>7}"
        )
    score = 100 * total_killed / total_run if total_run else None
    lines.append(f"{'total':<28}{total_run:>8}{total_killed:>8}{'':>9}{_percent(total_killed, total_run):>7}")
    walls = [o.wall for o in results.values()]
    cpus = [o.cpu for o in results.values()]
    if walls:
        lines += [
            "",
            (
                f"time: {elapsed:.0f} s in all; per mutant {sum(walls) / len(walls):.1f} s wall "
                f"(max {max(walls):.1f}), {sum(cpus) / len(cpus):.1f} s CPU"
            ),
        ]
    survivors = [m for m in chosen if m in results and not results[m].killed]
    if results:
        lines += [
            "",
            f"survivors ({len(survivors)}): no test tells these apart from the code; each needs a fixture"
            if survivors
            else "survivors: none",
        ]
    lines += [f"{m.where()}: {m.original_line}  ->  {m.mutated_line}" for m in survivors]
    return lines, score


# ---------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    intro, _, details = (__doc__ or "").partition("\n\n")
    parser = argparse.ArgumentParser(
        description=intro, epilog=details, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=120, metavar="N", help="mutants to run (0: all; default 120)")
    parser.add_argument("--seed", type=int, default=1, help="sampling seed (default 1)")
    parser.add_argument(
        "--module",
        action="append",
        metavar="PATH",
        help="checks/operator.py, operator.py or operator; repeatable (default: every module)",
    )
    parser.add_argument("--jobs", type=int, default=2, metavar="J", help="parallel workers (default 2)")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="per mutant (default: 4 x the module's baseline, at least 60 s)",
    )
    parser.add_argument(
        "--fail-under",
        type=float,
        metavar="P",
        help="exit 1 when the score is below P percent (or a module's baseline fails)",
    )
    parser.add_argument("--list", action="store_true", help="print the sampled mutants and exit without running")
    parser.add_argument(
        "--report", type=Path, default=REPORT, help=f"summary file (default {REPORT.relative_to(REPO)})"
    )
    args = parser.parse_args(argv)
    args.jobs = max(1, args.jobs)

    root = Path(tempfile.mkdtemp(prefix="aiconf-mutate-"))
    try:
        # One snapshot of the repo at start: mutants, baselines and every run see the same source, even while
        # the working tree is being edited.
        snapshot = root / "snapshot"
        snapshot.mkdir()
        for name in COPIED:
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, snapshot / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif (REPO / name).is_file():
                shutil.copy2(REPO / name, snapshot / name)
        modules = _module_names(args.module, snapshot)
        enumeration = list_mutants(snapshot, modules)
        chosen = sample(enumeration.mutants, args.sample, args.seed)
        if args.list:
            for i, m in enumerate(chosen, 1):
                print(f"{i:4} {m.where()} [{m.operator}: {m.change}] {m.original_line}  ->  {m.mutated_line}")
            print(
                f"{len(chosen)} of {len(enumeration.mutants)} mutants ({enumeration.equivalent} equivalent and "
                f"{enumeration.duplicate} duplicate ones not generated)"
            )
            return 0
        return _run(args, snapshot, root, enumeration, chosen)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(args, snapshot: Path, root: Path, enumeration: Enumeration, chosen: list[Mutant]) -> int:
    started = time.monotonic()
    modules = sorted({m.module for m in chosen})
    commands = {
        m: test_command(snapshot, m, check_ids(ast.parse((snapshot / CHECKS / f"{m}.py").read_bytes())))
        for m in modules
    }
    sources = {m: (snapshot / CHECKS / f"{m}.py").read_bytes() for m in modules}
    print(
        f"mutate: {len(chosen)} of {len(enumeration.mutants)} mutants in {', '.join(modules)}; "
        f"{args.jobs} workers; baselines first",
        file=sys.stderr,
        flush=True,
    )
    runner = Runner(snapshot, root, args.jobs)
    baselines: dict[str, Outcome] = {}
    results: dict[Mutant, Outcome] = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        try:
            # The unmutated tests must pass first, or every mutant of the module would count as killed.
            futures = {m: pool.submit(runner.run, m, commands[m], None, 3600.0) for m in modules}
            for module, future in futures.items():
                baselines[module] = base = future.result()
                state = f"baseline fails, module skipped: {base.detail}" if base.killed else "baseline passes"
                print(f"mutate: checks/{module}.py {state} ({base.wall:.1f} s)", file=sys.stderr, flush=True)
            todo = [m for m in chosen if not baselines[m.module].killed]

            def one(mutant: Mutant) -> Outcome:
                timeout = args.timeout or max(60.0, 4 * baselines[mutant.module].wall)
                return runner.run(mutant.module, commands[mutant.module], mutant.apply(sources[mutant.module]), timeout)

            jobs = {pool.submit(one, m): m for m in todo}
            for done, future in enumerate(as_completed(jobs), 1):
                mutant = jobs[future]
                results[mutant] = outcome = future.result()
                verdict = "timeout" if outcome.timed_out else "killed" if outcome.killed else "SURVIVED"
                print(
                    f"[{done:3}/{len(todo)}] {mutant.where()} {mutant.change}: {verdict} ({outcome.wall:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        except KeyboardInterrupt:
            runner.interrupt()
            pool.shutdown(wait=True, cancel_futures=True)
            print("mutate: interrupted", file=sys.stderr)
            return 130
    lines, score = summarize(args, enumeration, chosen, results, baselines, time.monotonic() - started)
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(f"mutate: report written to {args.report}", file=sys.stderr)
    if args.fail_under is not None:
        skipped = [m for m, b in baselines.items() if b.killed]
        # A module whose baseline fails has no score: the gate cannot be passed by skipping it.
        if skipped:
            print(
                f"mutate: --fail-under {args.fail_under:g}: no score for {', '.join(skipped)} (baseline fails)",
                file=sys.stderr,
            )
            return 1
        if score is None or score < args.fail_under:
            print(
                f"mutate: score {'-' if score is None else f'{score:.0f}%'} is below {args.fail_under:g}%",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
