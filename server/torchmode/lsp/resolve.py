"""Finding the files of imported modules the workspace index does not have, with jedi.

The engine resolves ``from models import Net`` through the ``ProjectIndex`` by module
path, which covers the workspace's own files. A model class can also live in a
sibling checkout on ``sys.path``, a ``src/`` layout or an installed package. For
those, jedi (static: no import, no execution, no compiled extensions loaded) is asked
where the module's file is; the file is then added to the index and open documents
are analysed again. This runs only on the background thread, with a time budget,
each module tried once, never on the diagnostic or hover path.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Any

from .index import read_source

if TYPE_CHECKING:
    from .engine_client import EngineClient

log = logging.getLogger(__name__)

BUDGET_S = 3.0
# Big libraries whose models the engine knows by name (factories, from_pretrained) and
# on which jedi can spend minutes: never looked up.
SKIP_TOPS = frozenset(
    {
        "torch",
        "torchvision",
        "torchaudio",
        "torchtext",
        "transformers",
        "diffusers",
        "timm",
        "accelerate",
        "lightning",
        "pytorch_lightning",
        "numpy",
        "pandas",
        "scipy",
        "sklearn",
        "tensorflow",
        "jax",
        "flax",
        "keras",
        "matplotlib",
        "datasets",
        "tqdm",
        "PIL",
        "cv2",
        "__future__",
        "typing",
        "huggingface_hub",
        "safetensors",
        "peft",
        "deepspeed",
        "wandb",
        "tensorboard",
        "onnx",
        "onnxruntime",
        "triton",
        "xformers",
        "bitsandbytes",
        "sentencepiece",
        "tokenizers",
        "evaluate",
        "sympy",
        "networkx",
        "requests",
        "yaml",
        "hydra",
        "omegaconf",
    }
)
MAX_MODULES = 5  # per document and import set
_FROM_IMPORT = re.compile(
    r"^[ \t]*from[ \t]+([A-Za-z_][\w.]*)[ \t]+import[ \t]+\(?([\w, \t]+)", re.MULTILINE
)


def imported(text: str) -> list[tuple[str, list[str]]]:
    """(module, class-like names) of each absolute ``from M import Name`` whose name is
    called in ``text`` (``Net(...)``): the model classes worth finding. Regex; no parse."""
    out = []
    for match in _FROM_IMPORT.finditer(text):
        called = []
        for item in match.group(2).split(","):
            original, _, alias = item.strip().partition(" as ")
            local = alias.strip() or original
            if original[:1].isupper() and re.search(rf"\b{re.escape(local)}\s*\(", text):
                called.append(original)
        if called:
            out.append((match.group(1), called))
    return out


class ImportResolver:
    """Adds the files of unresolved imported modules to the index (background only)."""

    def __init__(self, engine: EngineClient) -> None:
        self.engine = engine
        self.tried: set[str] = set()
        self._seen_imports: dict[str, frozenset[tuple[str, tuple[str, ...]]]] = {}
        self.added: list[str] = []

    def candidates(self, key: str, text: str) -> list[str]:
        """Modules worth a jedi lookup: not stdlib, not skipped, not tried, not indexed."""
        imports = imported(text)
        signature = frozenset((m, tuple(n)) for m, n in imports)
        if self._seen_imports.get(key) == signature:
            return []
        self._seen_imports[key] = signature
        wanted = [
            (module, names)
            for module, names in imports
            if module not in self.tried
            and module.split(".", 1)[0] not in SKIP_TOPS
            and module.split(".", 1)[0] not in sys.stdlib_module_names
        ]
        qualnames = [f"{module}.{n}" for module, names in wanted for n in names]
        known = dict(zip(qualnames, self.engine.known_classes(qualnames), strict=True))
        out: list[str] = []
        for module, names in wanted:
            if module not in out and not all(known[f"{module}.{n}"] for n in names):
                out.append(module)
        return out[:MAX_MODULES]

    def resolve(
        self, key: str, text: str, path: str, roots: list[str], budget_s: float = BUDGET_S
    ) -> int:
        """Look the candidates up with jedi; returns how many files were indexed."""
        modules = self.candidates(key, text)
        if not modules:
            return 0
        try:
            import jedi
        except ImportError:
            return 0
        start = time.perf_counter()
        root = roots[0] if roots else os.path.dirname(os.path.abspath(path))
        project = jedi.Project(path=root, load_unsafe_extensions=False, smart_sys_path=True)
        count = 0
        for module in modules:
            if time.perf_counter() - start > budget_s:
                log.info("jedi: time budget spent, %d modules left", len(modules))
                break
            self.tried.add(module)
            found = _module_file(jedi, project, module, path)
            if found is None:
                continue
            text_of = read_source(found)
            if text_of is not None and self.engine.update(found, text_of):
                self.added.append(found)
                count += 1
        return count


def _module_file(jedi: Any, project: Any, module: str, near: str) -> str | None:
    code = f"import {module}\n"
    try:
        script = jedi.Script(code=code, path=near, project=project)
        names = script.goto(1, len(code) - 2, follow_imports=True)
    except Exception as exc:  # jedi errors must never reach the server
        log.info("jedi could not resolve %s: %r", module, exc)
        return None
    for name in names:
        module_path = getattr(name, "module_path", None)
        if (
            module_path is not None
            and str(module_path).endswith(".py")
            and os.path.isfile(module_path)
        ):
            return str(module_path)
    return None
