"""Which PyTorch table a call's qualified name belongs to.

``NamedCalls._qual_call`` builds a call's value by the kind of call: a grad context, a
wrapper around a model, a loader, a model factory, an ``nn`` layer, ... The kind is a pure
function of the qualified name and the tables of ``names.py``, so it is computed once
per name and cached.
"""

from __future__ import annotations

import enum
from functools import lru_cache

from ..names import (
    FACTORY_PREFIXES,
    GRAD_OFF_CTX,
    GRAD_ON_CTX,
    LOADERS,
    WRAPPERS,
)

# Wrapper classes recognised by their last name whatever module they come from.
WRAPPER_CLASSES = ("DistributedDataParallel", "DataParallel", "DDP",
                   "FullyShardedDataParallel", "FSDP")
# ``torch.nn`` packages of functions, not of module classes.
NN_FUNCTION_PACKAGES = ("torch.nn.functional", "torch.nn.utils", "torch.nn.init")
# ``torch.nn`` classes that hold parameters but are no module with a mode.
NN_PARAMETER_CLASSES = ("Parameter", "ParameterList", "ParameterDict")
# ``X.from_pretrained`` of these owners builds no ``nn.Module``.
PRETRAINED_NON_MODULES = ("Tokenizer", "TokenizerFast", "Processor", "Config",
                          "FeatureExtractor", "Scheduler", "Pipeline", "Configuration")


class TorchCall(enum.Enum):
    """The kinds of call by qualified name the interpreter knows, in the order they are
    tested: a name in two tables is of the first kind that holds it."""

    GRAD_CONTEXT = "grad context"       # torch.no_grad(), torch.enable_grad()
    WRAPPER = "wrapper"                 # DDP(model), torch.compile(model)
    PREPARE = "prepare"                 # accelerator.prepare(model, opt), amp.initialize
    DEEPCOPY = "deepcopy"               # copy.deepcopy(model)
    LOADER = "loader"                   # torch.load(path)
    PRETRAINED = "from_pretrained"      # AutoModel.from_pretrained(name)
    FACTORY = "factory"                 # torchvision.models.resnet18(), timm.create_model
    NN_MODULE = "nn module"             # torch.nn.Linear(...), nn.Sequential(...)


@lru_cache(maxsize=4096)
def torch_call_kind(qual: str) -> TorchCall | None:
    """The kind of the call of ``qual``, or None for a name in no PyTorch table (the
    project's own classes and functions, unknown code)."""
    last = qual.rsplit(".", 1)[-1]
    if qual in GRAD_OFF_CTX or qual in GRAD_ON_CTX:
        return TorchCall.GRAD_CONTEXT
    if qual in WRAPPERS or last in WRAPPER_CLASSES:
        return TorchCall.WRAPPER
    if last == "prepare" or qual.endswith("amp.initialize"):
        return TorchCall.PREPARE
    if qual in ("copy.deepcopy", "deepcopy"):
        return TorchCall.DEEPCOPY
    if qual in LOADERS or qual.endswith(("jit.load", "torch.load")):
        return TorchCall.LOADER
    if last == "from_pretrained":
        return TorchCall.PRETRAINED
    if qual.startswith(FACTORY_PREFIXES):
        return TorchCall.FACTORY
    if qual.startswith("torch.nn.") and last[:1].isupper() and \
            not qual.startswith(NN_FUNCTION_PACKAGES) and last not in NN_PARAMETER_CLASSES:
        return TorchCall.NN_MODULE
    return None
