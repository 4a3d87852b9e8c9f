"""Mode-dependent layers of nn.Module classes, resolved through submodules,
base classes, and other analysed files (via the project index)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .names import Imports, dotted

if TYPE_CHECKING:
    from .facts import FileFacts

_DROPOUT = re.compile(r"^(Dropout\d?d?|AlphaDropout|FeatureAlphaDropout|Dropout[123]d)$")
_BN = re.compile(r"^(BatchNorm[123]d|SyncBatchNorm|LazyBatchNorm[123]d|BatchNorm)$")
_IN = re.compile(r"^(Lazy)?InstanceNorm[123]d$")
_RNN = frozenset({"RNN", "LSTM", "GRU"})
MODULE_BASES = ("torch.nn.Module", "nn.Module", "Module", "torch.nn.modules.module.Module",
                "pl.LightningModule", "LightningModule", "lightning.LightningModule",
                "pytorch_lightning.LightningModule", "lightning.pytorch.LightningModule",
                "torch.nn.Sequential", "nn.Sequential", "torch.nn.ModuleList",
                "torch.nn.ModuleDict")


@dataclass
class ClassSummary:
    """What one class body says about its layers (no resolution yet)."""

    name: str
    path: str
    bases: list[str]
    layers: Counter[str] = field(default_factory=Counter)
    submodules: list[str] = field(default_factory=list)   # qualified/local class names built
    unknown: bool = False       # builds something we cannot see (factory, unresolved import)
    reads_training: bool = False
    loads_in_init: bool = False  # __init__ loads a model (its mode is the loaded one's)
    # method name -> qualified names of its decorators (``@smart_inference_mode()`` gives
    # ``utils.torch_utils.smart_inference_mode``): whether a forward runs without grad is
    # decided where the decorator resolves (Interpreter.method_grad_off)
    method_decorators: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def is_module(self, resolver: Resolver) -> bool:
        return any(resolver.is_module_base(b) for b in self.bases)


@dataclass
class LayerInfo:
    dependent: bool | None      # None: cannot tell
    counts: Counter[str]
    class_name: str
    path: str | None

    def summary(self) -> str:
        parts = [f"{name} x{n}" for name, n in self.counts.most_common()]
        text = ", ".join(parts) if parts else "no mode-dependent layers"
        return text


class ProjectClasses(Protocol):
    def find_class(self, qualname: str) -> ClassSummary | None: ...


def _literal(node: ast.AST | None) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    return None


def layer_label(call: ast.Call, last: str) -> str | None:
    """A display label for a mode-dependent layer construction, else None."""
    if _DROPOUT.match(last):
        p = _literal(call.args[0]) if call.args else None
        for kw in call.keywords:
            if kw.arg == "p":
                p = _literal(kw.value)
        return f"{last}(p={p})" if isinstance(p, (int, float)) else last
    if _BN.match(last):
        return last
    if _IN.match(last):
        for kw in call.keywords:
            if kw.arg == "track_running_stats" and _literal(kw.value) is True:
                return f"{last}(track_running_stats=True)"
        return None
    if last in _RNN:
        for kw in call.keywords:
            if kw.arg == "dropout":
                value = _literal(kw.value)
                if isinstance(value, (int, float)) and value > 0:
                    return f"{last}(dropout={value})"
                if value is None:
                    return f"{last}(dropout=?)"
        if len(call.args) >= 5:
            value = _literal(call.args[4])
            if isinstance(value, (int, float)) and value > 0:
                return f"{last}(dropout={value})"
        return None
    return None


_NEUTRAL_FUNCS = ("torch.", "math.", "F.", "np.", "numpy.", "collections.", "typing.",
                  "dataclasses.", "functools.", "itertools.", "pathlib.", "os.", "re.")
_NOT_MODULES = frozenset({"OrderedDict", "Counter", "Path", "Tensor", "Parameter", "namedtuple",
                          "Optional", "Union", "List", "Dict", "Tuple", "Any", "Callable"})


def summarize_classes(tree_classes: dict[str, ast.ClassDef], imports: Imports,
                      path: str) -> dict[str, ClassSummary]:
    out: dict[str, ClassSummary] = {}
    for name, node in tree_classes.items():
        out[name] = summarize_class(name, node, imports, path)
    return out


class LazyClasses(Mapping[str, ClassSummary]):
    """This file's class summaries, each made on first use (most are never needed)."""

    def __init__(self, nodes: dict[str, ast.ClassDef], imports: Imports, path: str) -> None:
        self.nodes = nodes
        self.imports = imports
        self.path = path
        self._done: dict[str, ClassSummary] = {}

    def __getitem__(self, name: str) -> ClassSummary:
        found = self._done.get(name)
        if found is None:
            found = summarize_class(name, self.nodes[name], self.imports, self.path)
            self._done[name] = found
        return found

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)


def class_call(summary: ClassSummary, call: ast.Call, qual: str) -> None:
    """Account one call made in a class body (layers built, submodules, factories)."""
    last = qual.rsplit(".", 1)[-1]
    label = layer_label(call, last)
    if label is not None:
        if qual.startswith("torch.nn.") or "." not in qual or qual.startswith("nn."):
            summary.layers[label] += 1
            return
    if qual in ("torch.nn.functional.dropout", "torch.nn.functional.dropout2d",
                "torch.nn.functional.batch_norm", "torch.nn.functional.alpha_dropout"):
        summary.reads_training = True
        summary.layers[f"F.{last}"] += 1
        return
    if qual.startswith("torch.nn.") or qual.startswith(_NEUTRAL_FUNCS) \
            or qual in ("super", "len", "range", "int", "float", "list", "dict",
                        "tuple", "isinstance", "getattr", "setattr", "print"):
        return
    if qual.startswith(("torchvision.models.", "timm.", "torch.hub.")) \
            or ".from_pretrained" in qual:
        summary.unknown = True
        return
    if last[:1].isupper() and not last.isupper() and last not in _NOT_MODULES \
            and not last.endswith(("Error", "Exception", "Warning", "Config")):
        summary.submodules.append(qual)


def summarize_class(name: str, node: ast.ClassDef, imports: Imports, path: str) -> ClassSummary:
    summary = ClassSummary(name, path, [imports.qual(b) or "" for b in node.bases])
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            qual = imports.qual(sub.func)
            if qual:
                class_call(summary, sub, qual)
        elif isinstance(sub, ast.Attribute) and sub.attr == "training" and \
                isinstance(sub.ctx, ast.Load) and dotted(sub.value) == "self":
            summary.reads_training = True
    if summary.reads_training and not summary.layers:
        summary.layers["reads self.training"] += 1
    summary.loads_in_init = loads_in_init(node)
    return summary


_LOAD_NAME = re.compile(r"(?:^|_)load(?:$|_)")


def loads_in_init(node: ast.ClassDef) -> bool:
    """``DetectMultiBackend.__init__`` calls ``attempt_load(weights)``: the wrapper runs a
    loaded model whose mode was set where it was saved or loaded, not by the constructor."""
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            for sub in ast.walk(item):
                if isinstance(sub, ast.Call):
                    name = dotted(sub.func) or ""
                    last = name.rsplit(".", 1)[-1]
                    if last != "load_state_dict" and _LOAD_NAME.search(last):
                        return True
    return False


class Resolver:
    """Resolves class names seen in one file to summaries (this file, then the project)."""

    def __init__(self, local: Mapping[str, ClassSummary], imports: Imports,
                 project: ProjectClasses | None, module_name: str | None = None) -> None:
        self.local = local
        self.imports = imports
        self.project = project
        self.module_name = module_name
        self._cache: dict[str, LayerInfo | None] = {}
        self.inline: dict[str, LayerInfo] = {}
        self._module_cache: dict[str, bool] = {}

    def find(self, name: str) -> ClassSummary | None:
        if name in self.local:
            return self.local[name]
        if self.project is None:
            return None
        qual = self.imports.qual(ast.Name(id=name.split(".")[0])) if "." not in name else None
        if qual is None:
            head, _, rest = name.partition(".")
            base = self.imports.names.get(head)
            qual = f"{base}.{rest}" if base else name
        if qual.startswith(".") and self.module_name:
            qual = _resolve_relative(qual, self.module_name)
        return self.project.find_class(qual)

    def inline_layers(self, call: ast.Call, key: str) -> str:
        """Layers of ``nn.Sequential(nn.Linear(...), nn.Dropout(...))`` built on the spot;
        registers them under ``key`` and returns it (the class name to look up)."""
        counts: Counter[str] = Counter()
        unknown = False
        for sub in ast.walk(call):
            if sub is call or not isinstance(sub, ast.Call):
                continue
            qual = self.imports.qual(sub.func)
            if not qual:
                continue
            last = qual.rsplit(".", 1)[-1]
            label = layer_label(sub, last)
            if label is not None:
                counts[label] += 1
            elif qual.startswith("torch.nn."):
                continue
            elif last[:1].isupper():
                info = self.layers(qual)
                if info is None or info.dependent is None:
                    unknown = True
                else:
                    counts.update(info.counts)
        dependent: bool | None = True if counts else (None if unknown else False)
        self.inline[key] = LayerInfo(dependent, counts, "nn.Sequential", None)
        return key

    def _bases(self, name: str) -> list[str] | None:
        local = self.local
        if isinstance(local, LazyClasses) and name in local.nodes:
            node = local.nodes[name]
            return [self.imports.qual(b) or "" for b in node.bases]
        summary = self.find(name)
        return summary.bases if summary is not None else None

    def is_module_base(self, base: str, depth: int = 0) -> bool:
        if base in MODULE_BASES or base.rsplit(".", 1)[-1] in ("Module", "LightningModule"):
            return True
        if depth > 20:
            return False
        bases = self._bases(base)
        if bases is None:
            return False
        return any(self.is_module_base(b, depth + 1) for b in bases if b != base)

    def is_module_class(self, name: str) -> bool:
        cached = self._module_cache.get(name)
        if cached is None:
            bases = self._bases(name)
            cached = bases is not None and any(self.is_module_base(b) for b in bases if b != name)
            self._module_cache[name] = cached
        return cached

    def layers(self, name: str, depth: int = 0) -> LayerInfo | None:
        """Mode-dependent layers of class ``name``; None if the class is not visible."""
        if name in self.inline:
            return self.inline[name]
        if name in self._cache:
            return self._cache[name]
        if name.startswith("torch.nn.") and self.find(name) is None:
            return _builtin_layers(name)
        summary = self.find(name)
        if summary is None or depth > 30:
            return None
        self._cache[name] = None  # cycle guard
        counts: Counter[str] = Counter(summary.layers)
        unknown = summary.unknown
        for base in summary.bases:
            if base in MODULE_BASES or base in ("object", "") or base.endswith("nn.Module"):
                continue
            info = self.layers(base, depth + 1)
            if info is None or info.dependent is None:
                unknown = True
            else:
                counts.update(info.counts)
        for sub in summary.submodules:
            info = self.layers(sub, depth + 1)
            if info is None:
                sub_last = sub.rsplit(".", 1)[-1]
                if self.find(sub) is None and not sub_last.isupper():
                    unknown = True
                continue
            if info.dependent is None:
                unknown = True
            counts.update(info.counts)
        dependent: bool | None = True if counts else (None if unknown else False)
        result = LayerInfo(dependent, counts, summary.name, summary.path)
        self._cache[name] = result
        return result


NEUTRAL_BUILTINS = re.compile(
    r"^(.*Loss(?:\d[dD])?|ReLU\d?|LeakyReLU|PReLU|GELU|SiLU|Mish|ELU|SELU|CELU|Tanh|Sigmoid|Softmax\d?d?|"
    r"LogSoftmax|Softplus|Hardswish|Hardsigmoid|Hardtanh|Identity|Flatten|Unflatten|"
    r"Upsample|PixelShuffle|MaxPool\dd|AvgPool\dd|AdaptiveAvgPool\dd|AdaptiveMaxPool\dd|"
    r"CosineSimilarity|PairwiseDistance|ZeroPad\dd|ConstantPad\dd|ReflectionPad\dd)$")


def _builtin_layers(qual: str) -> LayerInfo | None:
    last = qual.rsplit(".", 1)[-1]
    if last in ("Sequential", "ModuleList", "ModuleDict", "Module"):
        return None
    label = layer_label(ast.Call(func=ast.Name(id=last), args=[], keywords=[]), last)
    if label is not None or last in ("TransformerEncoderLayer", "TransformerDecoderLayer",
                                     "Transformer", "TransformerEncoder",
                                     "TransformerDecoder", "MultiheadAttention"):
        return LayerInfo(True, Counter({label or f"{last} (dropout)": 1}), last, None)
    if _IN.match(last) or last in _RNN:
        return LayerInfo(None, Counter(), last, None)
    return LayerInfo(False, Counter(), last, None)


def _resolve_relative(qual: str, module_name: str) -> str:
    level = len(qual) - len(qual.lstrip("."))
    parts = module_name.split(".")
    base = parts[: max(len(parts) - level, 0)]
    rest = qual[level:]
    return ".".join([*base, rest]) if base else rest


def file_summaries(facts: FileFacts, path: str) -> dict[str, ClassSummary]:
    """This file's classes, as the facts walk summarised them."""
    for summary in facts.class_summaries.values():
        summary.path = path
    return facts.class_summaries


def lazy_summaries(facts: FileFacts, path: str) -> LazyClasses:
    return LazyClasses({n: c.node for n, c in facts.classes.items()}, facts.imports, path)
