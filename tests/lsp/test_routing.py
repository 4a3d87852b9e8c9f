"""Small documents analysed in the server process, everything else in the worker:
the same results either way, and nothing slow or new runs outside the worker."""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from torchmode.lsp import routing
from torchmode.lsp.engine import ThreadEngine
from torchmode.lsp.routing import RoutedEngine
from torchmode.settings import DEFAULT_SETTINGS

from .conftest import Session, Starter
from .sources import TRAIN_EVAL

LIB = "import torch\n\n\ndef validate(model, loader):\n    for x in loader:\n        model(x)\n"
# main.py passes validate() a model in training mode: lib.py's TM001 comes from main.py
MAIN = ("import torch\nfrom lib import validate\nfrom nets import Net\n\nmodel = Net()\n"
        "with torch.no_grad():\n    validate(model, [])\n")
NETS = ("import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.drop = nn.Dropout(0.5)\n\n"
        "    def forward(self, x):\n        return self.drop(x)\n")
HELPER = "\n\ndef helper(model):\n    model.train()\n"


class Pair:
    """The routed engine and an in-process reference, indexed alike."""

    def __init__(self, root: Path) -> None:
        self.routed, self.reference = RoutedEngine(), ThreadEngine()
        self.routed.warm()  # as the server does: the first analysis pays no imports
        self.paths = {name: str(root / name) for name in ("lib.py", "main.py", "nets.py")}
        for name, text in (("lib.py", LIB), ("main.py", MAIN), ("nets.py", NETS)):
            self.update(name, text)

    def update(self, name: str, text: str) -> None:
        self.routed.update(self.paths[name], text)
        self.reference.update(self.paths[name], text)

    def analyse(self, name: str, text: str) -> tuple[list[str], bool]:
        """The findings (asserted equal to the reference's) and whether the routed
        engine analysed them in this process."""
        before = self.routed.local_analyses
        got = self.routed.analyze(text, self.paths[name], DEFAULT_SETTINGS)
        expected = self.reference.analyze(text, self.paths[name], DEFAULT_SETTINGS)
        assert got.findings == expected.findings
        return [f.code for f in got.findings], self.routed.local_analyses > before


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    engines = Pair(tmp_path)
    yield engines
    engines.routed.close()


def typed(pair: Pair, name: str, text: str) -> list[str]:
    """Analyse ``text`` and a few typed versions of it until one is analysed in this
    process (the analysis that first solves the facts may be too slow to say so)."""
    for n in range(4):
        codes, here = pair.analyse(name, text + f"# typing {n}\n")
        if here:
            return codes
    raise AssertionError("never analysed in this process")


def test_a_small_fast_document_is_analysed_here_with_the_workers_facts(pair: Pair) -> None:
    assert pair.analyse("lib.py", LIB) == (["TM001"], False)      # first: in the worker
    assert typed(pair, "lib.py", LIB) == ["TM001"]
    assert pair.analyse("lib.py", LIB + "x = 1\n") == (["TM001"], True)
    pair.update("main.py", MAIN.replace("model = Net()\n", "model = Net()\nmodel.eval()\n"))
    assert pair.analyse("lib.py", LIB) == ([], False)             # new facts: the worker
    assert typed(pair, "lib.py", LIB) == []


def test_a_question_the_last_analysis_did_not_ask_goes_to_the_worker(pair: Pair) -> None:
    pair.update("nets.py", NETS + HELPER)
    assert pair.analyse("lib.py", LIB) == (["TM001"], False)
    typed(pair, "lib.py", LIB)
    calls_helper = LIB.replace("import torch\n", "import torch\nfrom nets import helper\n") \
        + "\n\ndef run(model):\n    helper(model)\n"
    assert pair.analyse("lib.py", calls_helper)[1] is False
    typed(pair, "lib.py", calls_helper)


def test_typing_here_reuses_the_last_parse_and_finds_the_same(pair: Pair) -> None:
    """Each keystroke's analysis parses only what the edit touched (the statements
    before it are the last parse's) and finds what a whole analysis finds."""
    typed(pair, "lib.py", LIB)
    first_statement = None
    for length in range(1, len("model.eval()") + 1):
        text = LIB.replace("    for x", "    " + "model.eval()"[:length] + "\n    for x")
        codes, here = pair.analyse("lib.py", text)
        assert here
        kept = pair.routed.parses.kept
        assert kept is not None
        if kept[1].text != text:   # half-typed ("model."): the last parse stays
            with pytest.raises(SyntaxError):
                ast.parse(text)
            continue
        if first_statement is not None:
            assert kept[1].tree.body[0] is first_statement   # import torch: not parsed again
        first_statement = kept[1].tree.body[0]
    assert codes == []     # model.eval() typed: TM001 is gone


def test_slow_or_large_documents_stay_in_the_worker(pair: Pair,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    large = TRAIN_EVAL + "".join(f"value_{i} = {i}\n" for i in range(routing.LOCAL_MAX_LINES))
    for text in (large, large + "# typing\n"):
        assert pair.analyse("main.py", text) == (["TM002", "TM001"], False)
    pasted = LIB + "".join(f"value_{i} = {i}\n" for i in range(300))  # not typing: a paste
    pair.analyse("lib.py", LIB)
    assert pair.analyse("lib.py", pasted)[1] is False
    monkeypatch.setattr(routing, "LOCAL_MAX_SECONDS", 0.0)   # every analysis counts as slow
    for text in (LIB, LIB + "# typing\n", LIB + "# more\n"):
        assert pair.analyse("lib.py", text) == (["TM001"], False)


async def test_published_diagnostics_are_the_same_in_both_routes(start: Starter,
                                                                 tmp_path: Path) -> None:
    """The routed server (small documents analysed in the server process) and a server
    that analyses everything in its worker publish the same diagnostics for every
    version of a document whose findings come from another file."""
    for name, text in (("main.py", MAIN), ("nets.py", NETS)):
        (tmp_path / name).write_text(text)
    versions = [LIB, LIB + "# typing\n", LIB.replace("model(x)", "model(x)\n        model(x)"),
                LIB.replace("import torch\n", "import torch\nfrom nets import Net\n"),
                TRAIN_EVAL, TRAIN_EVAL + "x = 1\n"]
    published = []
    for env in ({}, {"TORCHMODE_LSP_ENGINE": "process"}):
        session = await start(init_options={"debounceMs": 0}, env=env)
        uri = session.open("lib.py", versions[0])
        seen = [await cross_file_finding(session, uri)]
        for text in versions[1:]:
            version = session.change(uri, text)
            seen.append(await session.diagnostics(uri, version=version, timeout=30))
        published.append(seen)
    assert published[0] == published[1]


async def cross_file_finding(session: Session, uri: str) -> list[types.Diagnostic]:
    """The diagnostics of version 1 once the index is built: TM001, from main.py."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = session.publishes_for(uri)
        if found and [d.code for d in found[-1].diagnostics] == ["TM001"]:
            return list(found[-1].diagnostics)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no TM001 from main.py: {session.publishes_for(uri)}")
