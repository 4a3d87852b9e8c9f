"""Turn a ``FixSpec`` (decided at analysis time) into minimal text edits.

Each builder slices out the target statement(s), parses only that snippet
with libcst (see ``layout.Snippet``) and returns insertions/replacements
against the original text. Nothing else in the file is touched. A builder
returns None when it cannot make a correct edit; the fix is then not offered.

Decisions (each pinned by a test in ``tests/fixes/test_edits.py``):

- An inserted ``m.eval()``/``m.train()`` goes above the comment block directly
  over the target (no blank line between, not indented deeper: a deeper comment
  closes the previous block), at the target's indentation, with the file's line
  ending. A ``def`` target (the region is the whole function) gets it at the top
  of the body, after the docstring; a one-line ``def`` cannot take one.
- A ``with`` header goes directly above the target, below its comments (they
  describe the block as a whole). Every line of the block is shifted by the
  file's indent unit except blank lines and lines that start inside a string
  literal (their text is string content). The result must parse to exactly
  ``with <code>:`` around the same statements. A docstring is never wrapped, and
  a block that yields or awaits is not wrapped at all (grad would stay off in
  the caller or in other tasks while it is suspended).
- ``@<code>`` goes above the decorators, but below ``staticmethod``,
  ``classmethod``, ``property`` and friends (no_grad must wrap the plain
  function); never on an ``async def``.
- Nothing may come between decorators and their ``def``: a target on a decorated
  ``def``/``class`` line starts at its first decorator.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from collections.abc import Callable

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from ..findings import FixKind, FixSpec, Position, Range
from ..source import utf16_len
from .layout import (
    Doc,
    Snippet,
    indent_unit,
    is_blank,
    is_comment_line,
    is_docstring_statement,
    leading_ws,
)
from .mode_args import add_training_argument, insert_after_statement
from .textedit import TextEdit

Builder = Callable[[Doc, FixSpec], "list[TextEdit] | None"]

# Decorators that turn a function into a descriptor: `@torch.no_grad()` must go
# below them (it wraps a callable; a property/classmethod object is not one).
_DESCRIPTOR_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "property", "cached_property", "setter", "getter",
     "deleter", "abstractproperty"})


def edits_for_fix(text: str, fix: FixSpec, doc: Doc | None = None) -> list[TextEdit] | None:
    """The text edits that carry out ``fix`` on ``text``, or None when no correct edit exists.
    ``doc``: the text's ``Doc`` when the caller has one (it costs a pass over the text)."""
    builder = _BUILDERS.get(fix.kind)
    if builder is None:
        return None
    doc = doc if doc is not None and doc.text == text else Doc(text)
    try:
        edits = builder(doc, fix)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError, tokenize.TokenError):
        return None
    except Exception:  # noqa: BLE001 - a fix we cannot build is not offered; never crash callers
        return None
    if not edits:
        return None
    if fix.import_line:
        import_edits = import_edit(doc, fix.import_line)
        if import_edits is None:
            return None
        edits = import_edits + edits
    return edits


# -- insertion of a statement (TM001/TM007 eval, TM003 train) -------------------------------


def _insert_statement(doc: Doc, fix: FixSpec) -> list[TextEdit] | None:
    first, last = fix.target_line, fix.target_end_line
    if not (0 <= first <= last < len(doc.lines)):
        return None
    first = _with_decorators(doc, first, last)
    indent = leading_ws(doc.content(first))
    start = _attached_comments_start(doc, first, indent)
    snippet = Snippet.parse(doc, start, last) if start < first else None
    if snippet is None:
        start = first
        snippet = Snippet.parse(doc, first, last)
    if snippet is None:
        return None
    head = snippet.statements[0]
    if isinstance(head, cst.FunctionDef):  # the region is the whole function: top of its body
        return _insert_at_body_top(doc, snippet, head, fix.code)
    if is_docstring_statement(head):  # the first body statement is the docstring: after it
        _, end = snippet.statement_lines(head)
        return [_line_insert(doc, end + 1, indent + fix.code)]
    return [_line_insert(doc, start, indent + fix.code)]


def _with_decorators(doc: Doc, first: int, last: int) -> int:
    """``first`` moved up to the first decorator when it is a decorated def/class line
    (nothing may come between decorators and their def)."""
    start = _decorators_start(doc, first)
    if start == first:
        return first
    snippet = Snippet.parse(doc, start, last)
    if snippet is not None and isinstance(snippet.statements[0], (cst.FunctionDef, cst.ClassDef)):
        return start
    return first


def _attached_comments_start(doc: Doc, line: int, indent: str) -> int:
    """First line of the comment block directly above ``line`` (no blank line between)
    that belongs to it: comments not indented deeper than the statement (deeper ones
    close the block before it)."""
    start = line
    while start > 0:
        above = doc.content(start - 1)
        if not is_comment_line(above) or len(leading_ws(above)) > len(indent):
            break
        start -= 1
    return start


def _insert_at_body_top(doc: Doc, snippet: Snippet, func: cst.FunctionDef,
                        code: str) -> list[TextEdit] | None:
    body = func.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return None  # `def f(): return x` on one line: no line to insert before
    head = body.body[0]
    positions = _head_positions(snippet, func, head)
    start_line = snippet.file_line(positions[head].start.line)
    indent = leading_ws(doc.content(start_line))
    if is_docstring_statement(head):
        end_line = snippet.file_line(positions[head].end.line)
        return [_line_insert(doc, end_line + 1, indent + code)]
    leading = len(getattr(head, "leading_lines", ()))  # comments/blank lines above it
    return [_line_insert(doc, start_line - leading, indent + code)]


def _head_positions(snippet: Snippet, func: cst.FunctionDef,
                    head: cst.BaseStatement) -> dict[cst.CSTNode, CodeRange]:
    """Positions of ``func``'s first statement (and decorators) computed on a copy of
    the snippet truncated after that statement: positions of a long function cost
    ~0.1 ms a line, and only its header matters here. Lines are unchanged by the cut."""
    assert isinstance(func.body, cst.IndentedBlock)
    short = func.with_changes(body=func.body.with_changes(body=[head]))
    module = snippet.module
    if snippet.wrapped:
        outer = module.body[0]
        assert isinstance(outer, cst.If) and isinstance(outer.body, cst.IndentedBlock)
        module = module.with_changes(
            body=[outer.with_changes(body=outer.body.with_changes(body=[short]))])
    else:
        module = module.with_changes(body=[short])
    resolved = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    short_module_func = _only_function(module, snippet.wrapped)
    # Map the copies' positions back to the original nodes we were asked about.
    result: dict[cst.CSTNode, CodeRange] = {}
    assert isinstance(short_module_func.body, cst.IndentedBlock)
    head_copy = short_module_func.body.body[0]
    head_range = resolved[head_copy]
    decorators = getattr(head_copy, "decorators", ())
    if decorators:  # a decorated statement starts at its first decorator
        head_range = CodeRange(resolved[decorators[0]].start, head_range.end)
    result[head] = head_range
    result[func] = resolved[short_module_func]
    result[func.name] = resolved[short_module_func.name]
    for original, copy in zip(func.decorators, short_module_func.decorators, strict=True):
        result[original] = resolved[copy]
    return result


def _only_function(module: cst.Module, wrapped: bool) -> cst.FunctionDef:
    node: cst.CSTNode = module.body[0]
    if wrapped:
        assert isinstance(node, cst.If) and isinstance(node.body, cst.IndentedBlock)
        node = node.body.body[0]
    assert isinstance(node, cst.FunctionDef)
    return node


def _line_insert(doc: Doc, line: int, content: str) -> TextEdit:
    """Insert ``content`` as a whole new line before ``line`` (or after the last line)."""
    if line < len(doc.lines):
        return TextEdit.insert(line, 0, content + doc.eol)
    end = doc.index.end_position()
    if doc.lines and not doc.has_eol(len(doc.lines) - 1):  # keep the missing final newline
        return TextEdit(Range(end, end), doc.eol + content)
    return TextEdit(Range(end, end), content + doc.eol)


# -- wrapping in `with <code>:` (TM002) -----------------------------------------------------


def _wrap(doc: Doc, fix: FixSpec) -> list[TextEdit] | None:
    first, last = fix.target_line, fix.target_end_line
    if not (0 <= first <= last < len(doc.lines)):
        return None
    first = _with_decorators(doc, first, last)
    snippet = Snippet.parse(doc, first, last)
    if snippet is None:
        return None
    if is_docstring_statement(snippet.statements[0]):
        # Never wrap a docstring (it would stop being one); wrap what follows it.
        if len(snippet.statements) == 1:
            return None
        _, doc_end = snippet.statement_lines(snippet.statements[0])
        code_line = _next_code_line(doc, doc_end + 1, last)
        if code_line is None:
            return None
        first = code_line
        snippet = Snippet.parse(doc, first, last)
        if snippet is None:
            return None
    indent = leading_ws(doc.content(first))
    unit = indent_unit(doc, snippet, indent)
    header = f"{indent}with {fix.code}:"
    edits = [TextEdit.insert(first, 0, header + doc.eol)]
    new_lines = [header + doc.eol]
    for line in range(first, last + 1):
        content = doc.lines[line]
        if is_blank(content) or line in snippet.string_lines:
            new_lines.append(content)
            continue
        column = len(indent) if content.startswith(indent) else 0
        edits.append(TextEdit.insert(line, column, unit))
        new_lines.append(content[:column] + unit + content[column:])
    if not _is_exact_wrap(doc, snippet, new_lines, fix.code):
        return None
    return edits


def _next_code_line(doc: Doc, line: int, last: int) -> int | None:
    for index in range(line, last + 1):
        content = doc.content(index)
        if not is_blank(content) and not is_comment_line(content):
            return index
    return None


def _is_exact_wrap(doc: Doc, snippet: Snippet, new_lines: list[str], code: str) -> bool:
    """The wrapped lines parse to exactly ``with <code>:`` around the old statements
    (same AST, so no string content or continuation changed meaning)."""
    old = _parse_block(snippet.text, snippet.wrapped)
    new_text = "".join(new_lines)
    if not new_text.endswith(("\n", "\r")):
        new_text += doc.eol
    new = _parse_block(f"if 1:{doc.eol}{new_text}" if snippet.wrapped else new_text,
                       snippet.wrapped)
    try:
        wanted = ast.dump(ast.parse(code, mode="eval").body)
    except SyntaxError:
        return False
    if old is None or new is None or len(new) != 1 or not isinstance(new[0], ast.With):
        return False
    if any(_suspends(statement) for statement in old):
        return False
    wrapper = new[0]
    return (len(wrapper.items) == 1 and wrapper.items[0].optional_vars is None
            and ast.dump(wrapper.items[0].context_expr) == wanted
            and [ast.dump(s) for s in wrapper.body] == [ast.dump(s) for s in old])


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_SUSPENDS = (ast.Yield, ast.YieldFrom, ast.Await, ast.AsyncFor, ast.AsyncWith)


def _suspends(node: ast.AST) -> bool:
    """The block gives control away while it runs (``yield``, ``await``): a ``with``
    around it would leave grad off in the caller / other tasks in between, so the
    wrap is not a correct fix (the decorator, which torch applies per generator
    step, still is)."""
    if isinstance(node, _SUSPENDS):
        return True
    return any(_suspends(child) for child in ast.iter_child_nodes(node)
               if not isinstance(child, _NESTED_SCOPES))


def _parse_block(text: str, wrapped: bool) -> list[ast.stmt] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    if wrapped:
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.If):
            return None
        return tree.body[0].body
    return tree.body


# -- `@<code>` on the function (TM002, whole-function region) ------------------------------


def _decorate(doc: Doc, fix: FixSpec) -> list[TextEdit] | None:
    first, last = fix.target_line, fix.target_end_line
    start = _decorators_start(doc, first)
    snippet = Snippet.parse(doc, start, last) if start < first else None
    if snippet is None:
        snippet = Snippet.parse(doc, first, last)
    if snippet is None:
        return None
    func = snippet.statements[0]
    if not isinstance(func, cst.FunctionDef) or func.asynchronous is not None:
        return None  # a no_grad decorator does not cover an async function's body
    positions: dict[cst.CSTNode, CodeRange]
    if isinstance(func.body, cst.IndentedBlock):
        positions = _head_positions(snippet, func, func.body.body[0])
    else:  # `def f(x): return g(x)` on one line: the whole snippet is small
        positions = snippet.positions()
    def_line = snippet.file_line(positions[func.name].start.line)
    indent = leading_ws(doc.content(def_line))
    # Above every decorator, except those that make a descriptor (property,
    # classmethod, ...): no_grad must wrap the plain function, so go below them.
    insert_line = (snippet.file_line(positions[func.decorators[0]].start.line)
                   if func.decorators else def_line)
    for decorator in func.decorators:
        if _is_descriptor(decorator.decorator):
            index = list(func.decorators).index(decorator)
            following = func.decorators[index + 1:]
            insert_line = (snippet.file_line(positions[following[0]].start.line)
                           if following else def_line)
    return [_line_insert(doc, insert_line, f"{indent}@{fix.code}")]


def _decorators_start(doc: Doc, def_line: int) -> int:
    """The first decorator line above ``def_line`` (decorators may span lines)."""
    indent = leading_ws(doc.content(def_line))
    start = def_line
    for line in range(def_line - 1, max(-1, def_line - 40), -1):
        content = doc.content(line)
        if is_blank(content):
            break
        if content.startswith(indent + "@"):
            start = line
        elif content.startswith(indent) and not content[len(indent):].startswith((" ", "\t")) \
                and not content[len(indent):].startswith((")", "]", "}", "#")):
            break  # another statement at the def's level
    return start


def _is_descriptor(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Call):
        expr = expr.func
    if isinstance(expr, cst.Name):
        return expr.value in _DESCRIPTOR_DECORATORS
    if isinstance(expr, cst.Attribute):
        return expr.attr.value in _DESCRIPTOR_DECORATORS
    return False


# -- in-line edits: `()` (TM004) and flag assignment -> method call (TM006) ---------------


def _significant_tokens(text: str) -> list[tokenize.TokenInfo]:
    """Tokens without comments/NL/INDENT/DEDENT; a text that stops inside an open
    bracket (a compound statement's header alone) yields the tokens seen so far."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    tokens = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type not in skip:
                tokens.append(tok)
    except (tokenize.TokenError, IndentationError):
        pass
    return tokens


def _position_of(doc: Doc, line: int, col: int) -> Position:
    """File position of a file line and a code-point column on it."""
    return Position(line, utf16_len(doc.content(line)[:col]))


def _target_tokens(doc: Doc, fix: FixSpec) -> tuple[list[tokenize.TokenInfo], int] | None:
    """Tokens of the target lines and the file line of tokenize's row 1. The
    statement is parsed as a libcst snippet when it is complete; a target that is
    only a compound statement's header (`with torch.no_grad:`) is tokenized alone."""
    first, last = fix.target_line, fix.target_end_line
    if not (0 <= first <= last < len(doc.lines)):
        return None
    snippet = Snippet.parse(doc, first, last)
    if snippet is not None:
        return _significant_tokens(snippet.text), snippet.file_line(1)
    return _significant_tokens("".join(doc.lines[first:last + 1])), first


def _add_call_parens(doc: Doc, fix: FixSpec) -> list[TextEdit] | None:
    found = _target_tokens(doc, fix)
    if found is None:
        return None
    tokens, row_one = found
    base = fix.code[:-2] if fix.code.endswith("()") else fix.code
    wanted = [tok.string for tok in tokenize.generate_tokens(io.StringIO(base).readline)
              if tok.type in (tokenize.NAME, tokenize.OP)]
    if not wanted:
        return None
    for i in range(len(tokens) - len(wanted) + 1):
        window = tokens[i:i + len(wanted)]
        if [tok.string for tok in window] != wanted:
            continue
        if i > 0 and tokens[i - 1].string == ".":
            continue  # `x.model.eval` is not `model.eval`
        after = tokens[i + len(wanted)] if i + len(wanted) < len(tokens) else None
        if after is not None and after.string in ("(", "."):
            continue
        row, col = window[-1].end
        line = row_one + row - 1
        return [TextEdit.insert(*_astuple(_position_of(doc, line, col)), "()")]
    return None


def _astuple(position: Position) -> tuple[int, int]:
    return position.line, position.character


def _flag_to_method(doc: Doc, fix: FixSpec) -> list[TextEdit] | None:
    found = _target_tokens(doc, fix)
    if found is None:
        return None
    tokens, row_one = found
    candidates = []
    for statement in _simple_statements(tokens):
        targets = _assignment_targets(statement)
        if targets is None or len(targets) != 1:
            continue
        lhs = "".join(tok.string for tok in targets[0])
        if lhs.endswith((".training", ".eval", ".train")):
            candidates.append((lhs, statement))
    if not candidates:
        return None
    if fix.entity:
        preferred = [c for c in candidates if c[0].rsplit(".", 1)[0] == fix.entity]
        candidates = preferred or candidates
    _, statement = candidates[0]
    (start_row, start_col), (end_row, end_col) = statement[0].start, statement[-1].end
    start = _position_of(doc, row_one + start_row - 1, start_col)
    end = _position_of(doc, row_one + end_row - 1, end_col)
    return [TextEdit(Range(start, end), fix.code)]


def _simple_statements(tokens: list[tokenize.TokenInfo]) -> list[list[tokenize.TokenInfo]]:
    """Token runs of the simple statements (split at `;` and NEWLINE outside brackets)."""
    result: list[list[tokenize.TokenInfo]] = []
    current: list[tokenize.TokenInfo] = []
    depth = 0
    for tok in tokens:
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if depth == 0 and (tok.type == tokenize.NEWLINE or tok.string == ";"):
            if current:
                result.append(current)
            current = []
            continue
        current.append(tok)
    if current:
        result.append(current)
    return result


def _assignment_targets(
        statement: list[tokenize.TokenInfo]) -> list[list[tokenize.TokenInfo]] | None:
    """The target token runs of a plain (or annotated) assignment, else None."""
    parts: list[list[tokenize.TokenInfo]] = [[]]
    depth = 0
    for tok in statement:
        if tok.string in ("(", "[", "{"):
            depth += 1
        elif tok.string in (")", "]", "}"):
            depth -= 1
        if depth == 0 and tok.type == tokenize.OP and tok.string == "=":
            parts.append([])
            continue
        parts[-1].append(tok)
    if len(parts) < 2:
        return None
    targets = parts[:-1]
    # `m.training: bool = False`: the target is what comes before the annotation.
    first = targets[0]
    for k, tok in enumerate(first):
        if tok.string == ":":
            targets[0] = first[:k]
            break
    return targets


# -- `import torch` when nothing usable is imported -----------------------------------------


def import_edit(doc: Doc, import_line: str) -> list[TextEdit] | None:
    """Add ``import_line`` after the module's leading imports (after the docstring,
    ``from __future__`` imports, shebang/encoding/leading comments). Empty list when
    it is already there. Uses ``ast`` on the file: a plain parse is cheap."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(doc.text)
        wanted = ast.dump(ast.parse(import_line).body[0])
    except (SyntaxError, ValueError, IndexError):
        return None
    body = tree.body
    index = 0
    after: int | None = None  # 0-based line after which the import goes
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        after = (body[0].end_lineno or body[0].lineno) - 1
        index = 1
    while index < len(body) and isinstance(body[index], (ast.Import, ast.ImportFrom)):
        if ast.dump(body[index]) == wanted:
            return []
        after = (body[index].end_lineno or body[index].lineno) - 1
        index += 1
    if after is not None:
        return [_line_insert(doc, after + 1, import_line)]
    if not body:
        return [_line_insert(doc, len(doc.lines), import_line)]
    first = body[0]
    lines = [first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])]
    return [_line_insert(doc, min(lines) - 1, import_line)]


_BUILDERS: dict[str, Builder] = {
    FixKind.INSERT_EVAL: _insert_statement,
    FixKind.INSERT_TRAIN: _insert_statement,
    FixKind.WRAP_NO_GRAD: _wrap,
    FixKind.WRAP_INFERENCE_MODE: _wrap,
    FixKind.DECORATE_NO_GRAD: _decorate,
    FixKind.ADD_CALL_PARENS: _add_call_parens,
    FixKind.FLAG_TO_METHOD: _flag_to_method,
    FixKind.ADD_TRAINING_ARG: add_training_argument,
    FixKind.REAPPLY_FREEZE: insert_after_statement,
}

__all__ = ["edits_for_fix", "import_edit"]
