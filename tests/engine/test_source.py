"""Lines are counted as Python counts them: only CR, LF and CRLF end a line."""

from __future__ import annotations

from torchmode.analyzer import analyze
from torchmode.source import SourceText, split_lines


def test_split_lines_keeps_endings_and_ignores_form_feeds() -> None:
    text = "a\r\nb\x0cc\rd\u2028e\nf"
    assert split_lines(text) == ["a\r\n", "b\x0cc\r", "d\u2028e\n", "f"]
    assert "".join(split_lines(text)) == text


def test_noqa_below_a_form_feed_line_still_silences() -> None:
    text = (
        "import torch\n"
        "\x0c\n"
        "model = torch.nn.Linear(2, 2)\n"
        "model.eval  # noqa: TM004\n"
        "model.train\n"
    )
    result = analyze(text, "ff.py")
    assert [(f.code, f.range.start.line) for f in result.findings] == [("TM004", 4)]
    assert SourceText(text).line_text(3) == "model.eval  # noqa: TM004"
