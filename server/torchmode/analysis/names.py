"""Names: dotted keys of expressions, import resolution, and the name patterns of RULES.md §2."""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatchcase

# Methods returning the module itself: the result is the same entity.
SELF_RETURNING = frozenset({
    "to", "cuda", "cpu", "half", "float", "double", "bfloat16", "type", "eval", "train",
    "requires_grad_", "share_memory", "to_empty", "xpu", "ipu", "mps", "apply", "zero_grad_",
})
# Methods that only an nn.Module has (with the calling convention we check): "used as a module".
NOT_FORWARD_METHODS = frozenset({
    "forward", "generate", "step", "backward", "zero_grad", "state_dict", "__enter__",
    "__exit__", "item", "size", "numel", "view", "reshape", "detach", "clone", "append",
    "extend", "update", "get", "items", "keys", "values", "pop", "format", "join", "split",
    "register_hook", "named_parameters", "save_pretrained",
})
MODULE_METHODS = frozenset({
    "parameters", "named_parameters", "load_state_dict", "named_modules", "modules",
    "children", "named_children", "named_buffers", "buffers", "register_forward_hook",
    "register_forward_pre_hook", "register_buffer", "add_module",
})
WRAPPERS = frozenset({
    "torch.nn.DataParallel", "torch.nn.parallel.DataParallel", "DataParallel",
    "torch.nn.parallel.DistributedDataParallel", "torch.nn.parallel.DDP",
    "DistributedDataParallel", "DDP", "torch.compile", "FSDP", "FullyShardedDataParallel",
    "torch.distributed.fsdp.FullyShardedDataParallel", "torch.jit.script",
    "torch.nn.SyncBatchNorm.convert_sync_batchnorm", "convert_sync_batchnorm",
})
FACTORY_PREFIXES = ("torchvision.models.", "timm.create_model", "torch.hub.load",
                    "segmentation_models_pytorch.", "timm.models.")
PRETRAINED_EVAL_PREFIXES = ("transformers", "diffusers")
LOADERS = frozenset({"torch.load", "torch.jit.load", "torch.export.load", "joblib.load",
                     "pickle.load", "dill.load"})
OPTIMIZER_NAMES = frozenset({
    "SGD", "Adam", "AdamW", "Adamax", "Adagrad", "Adadelta", "RMSprop", "Rprop", "LBFGS",
    "NAdam", "RAdam", "SparseAdam", "ASGD", "Adafactor", "Lion", "LAMB", "Lamb", "FusedAdam",
    "FusedLAMB", "AdamW8bit", "Adam8bit", "Muon", "Shampoo", "Sophia", "Adan", "AdaBelief",
})
SPOT_TENSOR_FUNCS = frozenset({
    "randn", "rand", "randint", "zeros", "ones", "empty", "full", "tensor", "arange",
    "randn_like", "rand_like", "zeros_like", "ones_like", "linspace", "normal",
})
GRAD_OFF_CTX = ("torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
                "torch.autograd.grad_mode.no_grad", "torch.autograd.grad_mode.inference_mode")
GRAD_ON_CTX = ("torch.enable_grad", "torch.autograd.enable_grad",
               "torch.autograd.grad_mode.enable_grad")
SET_GRAD = ("torch.set_grad_enabled", "torch.autograd.set_grad_enabled",
            "torch.autograd.grad_mode.set_grad_enabled")

# The model's own mode switches, training-step and backward methods, and the calls that
# record a model (export): what the interpreter recognises by name.
MODE_METHODS = ("eval", "train")
STEP_METHODS = ("step",)            # optimizer.step(), scaler.step(optimizer)
BACKWARD_METHODS = ("backward",)    # loss.backward(), accelerator.backward(loss)
EXPORTERS = ("torch.jit.trace", "torch.export.export", "torch.jit.trace_module",
             "torch.export", "torch.onnx.dynamo_export", "torch.onnx.export")
# What a model is run with besides ``model(x)``; the attribute a wrapper (DDP,
# DataParallel) keeps the model in; the flag ``eval()`` / ``train()`` set; the stem of
# an optimizer's module and of the names people give one (``torch.optim``, ``optimizer``).
FORWARD_METHODS = ("forward", "generate")
WRAPPED_MODULE = "module"
TRAINING_FLAG = "training"
OPTIMIZER_STEMS = ("optim",)
_DOT_WRAPPED = f".{WRAPPED_MODULE}"
# Every grad context above holds one of these, and so does the name a project gives its
# own wrapper (``nograd``, ``smart_inference_mode``): the words text prefilters look for.
GRAD_CONTEXT_STEMS = ("grad", "inference")

EVAL_WORDS = frozenset({"val", "valid", "validation", "test", "testing", "eval", "evaluation",
                        "dev", "holdout", "validate"})
LOADER_SUFFIXES = ("loader", "loaders", "dl", "data", "dataset", "datasets", "set", "ds",
                    "iter", "iterator", "batches", "batch", "samples", "images", "imgs", "gen",
                    "queue", "split")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
# What a function's name starts with when it evaluates (RULES §2): ``eval_`` needs the
# underscore; ``evaluate*`` any; ``valid*`` includes validate.
EVAL_FUNCTION_PREFIXES = (
    "evaluate", "eval_", "valid", "validation", "test", "predict", "infer", "inference",
    "generate", "sample", "translate", "decode", "beam_search", "greedy", "caption")
EVAL_FUNC_RE = re.compile(
    r"^_*(" + "|".join(map(re.escape, EVAL_FUNCTION_PREFIXES)) + ")", re.IGNORECASE)
HOOK_RE = re.compile(
    r"^(training_step|validation_step|test_step|predict_step|.*_step_end|on_.*|.*_epoch_end|"
    r"forward|configure_.*|setup|teardown|__call__|compute_loss|prediction_step|evaluation_loop|"
    r"_?inner_training_loop)$")
_MODEL_WORD_RE = re.compile(
    r"(?:^|_)(?:model|net|network|module|encoder|decoder|generator|discriminator|"
    r"classifier|backbone|teacher|student|critic|actor|policy|vae|unet|transformer|resnet|"
    r"detector|segmenter|clf|autoencoder|ema|head)s?\d*$")
_MODEL_CAMEL_RE = re.compile(r"^(?:net[A-Z][A-Za-z]?\d*|G|D|[A-Z]\w*(?:Net|Model))$")


def looks_like_model_name(name: str) -> bool:
    """``model``, ``ema_model``, ``netG``, ``teacher2``: a name people give to modules."""
    return bool(_MODEL_WORD_RE.search(name.lower()) or _MODEL_CAMEL_RE.match(name))


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def entity_key(node: ast.AST) -> str | None:
    """Entity key of an expression: dotted name with ``.module`` (DDP/DataParallel) removed."""
    key = dotted(node)
    if key is None:
        return None
    return entity_key_of(key) if _DOT_WRAPPED in key else key


def entity_key_of(key: str) -> str:
    """``entity_key`` of a dotted name given as text."""
    if _DOT_WRAPPED in key:
        parts = [p for i, p in enumerate(key.split(".")) if not (i and p == WRAPPED_MODULE)]
        key = ".".join(parts)
    return key


def split_words(name: str) -> list[str]:
    words: list[str] = []
    for part in re.split(r"[^A-Za-z0-9]+", name):
        if not part:
            continue
        if part.islower() or part.isupper():
            words.append(part.lower())
        else:
            words.extend(w.lower() for w in _CAMEL.findall(part))
    return words


def is_eval_loader_name(name: str, extra: tuple[str, ...] = ()) -> bool:
    """``val_loader``, ``testloader``, ``dataloaders['val']``, ``self.valid_dl`` ..."""
    for pattern in extra:
        if any(fnmatchcase(part, pattern) for part in name.split()):
            return True
    for word in split_words(name):
        if word in EVAL_WORDS:
            return True
        for base in ("val", "valid", "test", "eval", "dev", "holdout"):
            if word.startswith(base) and word[len(base):] in LOADER_SUFFIXES:
                return True
    return False


def is_eval_function_name(name: str, extra: tuple[str, ...] = ()) -> bool:
    if EVAL_FUNC_RE.match(name):
        # eval_ needs the underscore; "evaluate*" any; "valid*" includes validate
        return True
    return any(fnmatchcase(name, p) for p in extra)


class Imports:
    """Local name -> qualified name, from every import in the file."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.names[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self.names[head] = head
        else:
            if node.level or not node.module:
                base = node.module or ""
                prefix = "." * node.level
                for alias in node.names:
                    self.names[alias.asname or alias.name] = f"{prefix}{base}.{alias.name}".replace(
                        "..", ".") if base else f"{prefix}{alias.name}"
                return
            for alias in node.names:
                if alias.name != "*":
                    self.names[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def qual(self, node: ast.AST) -> str | None:
        key = dotted(node)
        if key is None:
            return None
        return self.qual_name(key)

    def qual_name(self, key: str) -> str:
        """``qual`` of a dotted name already spelled out."""
        head, _, rest = key.partition(".")
        full = self.names.get(head)
        if full is None:
            return key
        return f"{full}.{rest}" if rest else full

    def spelling(self, name: str) -> tuple[str, str | None]:
        """How to write ``torch.<name>`` in this file: (text without call, import to add)."""
        for local, full in self.names.items():
            if full == f"torch.{name}":
                return local, None
        for local, full in self.names.items():
            if full == "torch":
                return f"{local}.{name}", None
        return f"torch.{name}", "import torch"

    def is_torch_imported(self) -> bool:
        return any(full == "torch" or full.startswith("torch.") for full in self.names.values())
