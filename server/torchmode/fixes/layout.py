"""What a fix needs to know about the text around its target.

The target's lines are sliced out and parsed with libcst on their own (a
snippet, wrapped in ``if 1:`` when indented), never the whole file: a
whole-file libcst parse costs 10-30x ``ast.parse``. ``tokenize`` on the same
snippet tells which lines start inside a string literal (their text is
string content and must not be re-indented).
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from .textedit import Doc

_WHITESPACE = " \t\f"
# libcst's native parser recurses on the C stack and crashes the process (SIGSEGV,
# no exception) on expressions about 7,000 levels deep; 3,000 still parse in a
# thread. Real code stays far below this.
MAX_FIX_DEPTH = 1000


def nesting_depth(text: str, limit: int = MAX_FIX_DEPTH) -> int:
    """How deeply the syntax tree of ``text`` nests, counted up to ``limit + 1``.

    ``ast`` (which already parsed the file during analysis) is walked without
    recursion, so this is safe on text libcst cannot take. Text ``ast`` cannot
    parse counts as too deep: libcst must not see it either.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return limit + 1
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def leading_ws(line: str) -> str:
    """The indentation of a line (spaces, tabs, form feeds)."""
    return line[: len(line) - len(line.lstrip(_WHITESPACE))]


def is_blank(line: str) -> bool:
    return not line.strip()


def is_comment_line(line: str) -> bool:
    return line.lstrip(_WHITESPACE).startswith("#")


@dataclass
class Snippet:
    """Lines ``first..last`` (0-based, inclusive) of a file parsed on their own."""

    doc: Doc
    first: int
    last: int
    module: cst.Module
    statements: list[cst.BaseStatement]
    wrapped: bool  # parsed inside `if 1:` because the lines are indented
    text: str      # what was parsed
    _positions: object = field(default=None, repr=False)

    @classmethod
    def parse(cls, doc: Doc, first: int, last: int) -> Snippet | None:
        """Parse the lines, or None when they are not a run of complete statements."""
        if not (0 <= first <= last < len(doc.lines)):
            return None
        body = "".join(doc.lines[first:last + 1])
        if not doc.has_eol(last):
            body += doc.eol
        code_line = next((doc.content(i) for i in range(first, last + 1)
                          if not is_blank(doc.content(i)) and not is_comment_line(doc.content(i))),
                         None)
        if code_line is None:
            return None
        wrapped = bool(leading_ws(code_line))
        text = f"if 1:{doc.eol}{body}" if wrapped else body
        if nesting_depth(text) > MAX_FIX_DEPTH:
            return None  # libcst would crash the process, not raise
        try:
            module = cst.parse_module(text)
        except (cst.ParserSyntaxError, RecursionError, ValueError):
            return None
        if wrapped:
            if len(module.body) != 1 or not isinstance(module.body[0], cst.If):
                return None
            inner = module.body[0].body
            if not isinstance(inner, cst.IndentedBlock):
                return None
            statements = list(inner.body)
        else:
            statements = list(module.body)
        if not statements:
            return None
        return cls(doc, first, last, module, statements, wrapped, text)

    def file_line(self, snippet_line: int) -> int:
        """0-based file line of a 1-based libcst line of the snippet."""
        return self.first + snippet_line - 1 - (1 if self.wrapped else 0)

    def positions(self) -> dict[cst.CSTNode, CodeRange]:
        """libcst positions of the snippet's nodes (computed once, on demand)."""
        if self._positions is None:
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._positions = dict(wrapper.resolve(PositionProvider))
        return self._positions  # type: ignore[return-value]

    def statement_lines(self, node: cst.CSTNode) -> tuple[int, int]:
        """File lines (0-based, inclusive) of a node of the snippet."""
        code_range = self.positions()[node]
        return self.file_line(code_range.start.line), self.file_line(code_range.end.line)

    @cached_property
    def string_lines(self) -> frozenset[int]:
        """File lines that start inside a string literal (their leading text is
        string content: re-indenting it would change the string)."""
        inside: set[int] = set()
        stack: list[int] = []
        try:
            for tok in tokenize.generate_tokens(io.StringIO(self.text).readline):
                name = tokenize.tok_name[tok.type]
                if name == "STRING":
                    inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
                elif name == "FSTRING_START":  # Python 3.12+: f-strings are several tokens
                    stack.append(tok.start[0])
                elif name == "FSTRING_END" and stack:
                    inside.update(range(stack.pop() + 1, tok.end[0] + 1))
        except (tokenize.TokenError, SyntaxError):
            pass
        return frozenset(self.file_line(row) for row in inside)

    def block_indent(self) -> str | None:
        """The indentation unit of the first indented block among the statements."""
        for statement in self.statements:
            body = getattr(statement, "body", None)
            if isinstance(body, cst.IndentedBlock):
                # None means "the module default", which for a wrapped snippet is the
                # wrapper's indent: the target's own indentation, i.e. the same width.
                return body.indent if body.indent is not None else self.module.default_indent
        return None


def is_docstring_statement(statement: cst.BaseStatement) -> bool:
    """A statement that is only a string literal (a docstring when it comes first)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    expr = statement.body[0]
    return isinstance(expr, cst.Expr) and isinstance(
        expr.value, (cst.SimpleString, cst.ConcatenatedString))


def indent_unit(doc: Doc, snippet: Snippet | None, target_indent: str) -> str:
    """The file's own indent unit: from the target's block when it has one, else
    from the header the target sits under, else the most common step in the file."""
    if snippet is not None:
        unit = snippet.block_indent()
        if unit and not unit.strip():
            return unit
    if target_indent and snippet is not None:
        for line in range(snippet.first - 1, max(-1, snippet.first - 200), -1):
            content = doc.content(line)
            if is_blank(content) or is_comment_line(content):
                continue
            ws = leading_ws(content)
            if len(ws) < len(target_indent) and content.split("#", 1)[0].rstrip().endswith(":"):
                if target_indent.startswith(ws):
                    return target_indent[len(ws):]
                break
    unit = file_indent_unit(doc)
    if unit:
        return unit
    return "\t" if target_indent.startswith("\t") else "    "


def file_indent_unit(doc: Doc, max_lines: int = 3000) -> str | None:
    """The most common indentation step after a line ending with ``:``."""
    steps: Counter[str] = Counter()
    lines = doc.lines[:max_lines]
    for i, raw in enumerate(lines):
        content = raw.rstrip("\r\n")
        code = content.split("#", 1)[0].rstrip()
        if not code.endswith(":") or is_comment_line(content):
            continue
        header_ws = leading_ws(content)
        for nxt in lines[i + 1:i + 4]:
            if is_blank(nxt) or is_comment_line(nxt):
                continue
            ws = leading_ws(nxt)
            if len(ws) > len(header_ws) and ws.startswith(header_ws):
                steps[ws[len(header_ws):]] += 1
            break
        if sum(steps.values()) >= 40:
            break
    if not steps:
        return None
    return steps.most_common(1)[0][0]
