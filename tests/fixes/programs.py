"""A generator of small Python programs with known statement positions, for the
property tests: nested loops/with/if/def, comments, blank lines, multi-line
strings (content at odd columns), bracket and backslash continuations, CJK and
astral characters, spaces or tabs, LF or CRLF, with or without a final newline."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

SIMPLE = {
    "call": ["y = model(x)"],
    "comment_tail": ["print(y)  # 注释 😀"],
    "mstr": ['s = """', "content at column zero", "      indented content", '"""'],
    "paren": ["t = (1 +", "{cont}2)"],
    "backslash": ["u = 1 + \\", "{cont}2"],
    "fstr": ['f = f"""{{model(x)}}', '  tail"""'],
    "bare_eval": ["model.eval"],
    "flag": ["model.training = False"],
    "uni": ["z = '中文 😀'; w = model(z)"],
}
COMPOUND = {
    "for": "for x in val_loader:",
    "with": "with ctx:",
    "if": "if flag:",
    "def": "def evaluate(model, x):",
    "ddef": "def evaluate(model, x):",  # decorated
}


@dataclass
class Stmt:
    kind: str
    body: list[Stmt] = field(default_factory=list)
    docstring: bool = False
    comment_before: bool = False
    blank_before: bool = False
    # Filled in by render():
    first: int = -1  # 0-based first line (the def line for decorated functions)
    last: int = -1


@dataclass
class Program:
    text: str
    eol: str
    unit: str
    top: list[Stmt]

    def all_statements(self) -> list[tuple[list[Stmt], int]]:
        """(sibling list, index) for every statement."""
        out: list[tuple[list[Stmt], int]] = []

        def walk(body: list[Stmt]) -> None:
            for i, s in enumerate(body):
                out.append((body, i))
                walk(s.body)

        walk(self.top)
        return out


def _stmt(children: st.SearchStrategy[list[Stmt]]) -> st.SearchStrategy[Stmt]:
    simple = st.builds(Stmt, kind=st.sampled_from(sorted(SIMPLE)),
                       comment_before=st.booleans(), blank_before=st.booleans())
    compound = st.builds(Stmt, kind=st.sampled_from(sorted(COMPOUND)), body=children,
                         docstring=st.booleans(), comment_before=st.booleans(),
                         blank_before=st.booleans())
    return st.one_of(simple, compound)


def _bodies() -> st.SearchStrategy[list[Stmt]]:
    leaf = st.lists(st.builds(Stmt, kind=st.sampled_from(sorted(SIMPLE)),
                              comment_before=st.booleans(), blank_before=st.booleans()),
                    min_size=1, max_size=3)
    return st.recursive(leaf, lambda children: st.lists(_stmt(children), min_size=1,
                                                        max_size=3), max_leaves=12)


def render(top: list[Stmt], unit: str, eol: str, final_newline: bool) -> str:
    lines: list[str] = ["import torch"]

    def emit(body: list[Stmt], depth: int) -> None:
        indent = unit * depth
        for s in body:
            if s.blank_before:
                lines.append("")
            if s.comment_before:
                lines.append(f"{indent}# 说明 comment")
            if s.kind in SIMPLE:
                s.first = len(lines)
                for k, text in enumerate(SIMPLE[s.kind]):
                    text = text.format(cont=indent + unit)
                    # string content lines stay at their own column
                    inner = s.kind in ("mstr", "fstr") and k > 0
                    lines.append(text if inner or k > 0 and s.kind in ("paren", "backslash")
                                 else indent + text)
                s.last = len(lines) - 1
                continue
            if s.kind == "ddef":
                lines.append(f"{indent}@decorator(")
                lines.append(f"{indent}{unit}1)")
            s.first = len(lines)
            lines.append(indent + COMPOUND[s.kind])
            inner_indent = indent + unit
            if s.kind in ("def", "ddef") and s.docstring:
                doc = Stmt("docstring")
                doc.first = len(lines)
                lines.append(f'{inner_indent}"""Doc 文档.')
                lines.append("")
                lines.append(f'{inner_indent}More."""')
                doc.last = len(lines) - 1
                s.body.insert(0, doc)
                emit(s.body[1:], depth + 1)
            else:
                emit(s.body, depth + 1)
            s.last = len(lines) - 1

    emit(top, 0)
    text = eol.join(lines)
    return text + eol if final_newline else text


@st.composite
def programs(draw: st.DrawFn) -> Program:
    top = draw(_bodies())
    unit = draw(st.sampled_from(["    ", "  ", "\t"]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.booleans())
    text = render(top, unit, eol, final)
    return Program(text, eol, unit, top)
