"""Property tests with the real engine over generated scripts: every offered fix
keeps the guarantees (independently checked) with the exact intended AST change,
and fix-all reaches a fixed point (running it again changes nothing)."""

from __future__ import annotations

import ast
import difflib

from hypothesis import HealthCheck, given, settings
from torchmode.fixes import apply_edits, fix_all
from torchmode.settings import DEFAULT_SETTINGS

from fixes.guarantees import check_offered
from fixes.scripts import scripts

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scripts())
def test_offered_fixes_keep_the_guarantees(text: str) -> None:
    ast.parse(text)
    check_offered(text, "generated.py")


@SETTINGS
@given(scripts())
def test_fix_all_reaches_a_fixed_point(text: str) -> None:
    for unsafe in (False, True):
        result = fix_all(text, "generated.py", DEFAULT_SETTINGS, unsafe=unsafe)
        ast.parse(result.text)
        assert apply_edits(text, result.edits) == result.text
        assert all(not e.new_text or e.new_text.endswith(("\n", "\r")) or
                   not result.text.endswith(("\n", "\r")) for e in result.edits)
        again = fix_all(result.text, "generated.py", DEFAULT_SETTINGS, unsafe=unsafe)
        assert again.text == result.text
        if not unsafe:  # the only safe fix is TM004's `()`: nothing else is inserted
            matcher = difflib.SequenceMatcher(None, text, result.text, autojunk=False)
            changes = [(tag, result.text[j1:j2]) for tag, _, _, j1, j2 in matcher.get_opcodes()
                       if tag != "equal"]
            assert all(change == ("insert", "()") for change in changes), changes
            # (other findings may vanish with them: `model.eval` was meant as eval)
