"""PyTorch semantics the mode interpreter needs beyond the name tables of ``names.py``.

Calls that cannot change a module's mode, ``nn.Module`` methods that keep it, the
tensor casts that keep a tensor made on the spot one, how loss modules and
verb-named methods are told apart from models.
"""

from __future__ import annotations

import re

# Calls that never switch a module's mode, though a module is passed to them.
HARMLESS_CALLS = frozenset({
    "print", "len", "str", "repr", "isinstance", "issubclass", "hasattr", "id", "type",
    "sum", "min", "max", "sorted", "list", "tuple", "dict", "set", "enumerate", "zip", "iter",
    "next", "callable", "vars", "dir", "format", "super", "save", "info", "debug", "warning",
    "error", "log", "append", "add", "extend", "insert", "watch", "summary", "count_parameters",
    "parameters_to_vector", "clip_grad_norm_", "clip_grad_value_", "numel", "write", "add_graph",
    "named_parameters", "state_dict", "get_model_complexity_info", "profile", "assert_close",
    "allclose", "equal", "manual_seed", "seed_everything", "update", "zero_grad",
})
# Loss modules are criteria, not models (RULES §2), also a project's own ``Tacotron2Loss``.
LOSS_CLASS = re.compile(r"Loss(?:\d[dD])?$")
# ``x.log_model(...)``: a method named for what it does to a model, not a model.
VERB_PREFIX = re.compile(
    r"^(?:log|save|load|build|get|create|make|init|update|set|export|print|register|wrap|"
    r"compile|freeze|unfreeze|fuse|prepare|setup|upload|download|push|watch)_")
# Tensor methods that keep a tensor made on the spot one (``torch.from_numpy(a).float()``).
TENSOR_CASTS = frozenset({"float", "double", "long", "int", "half", "to", "cuda", "cpu", "type",
                           "unsqueeze", "view", "reshape"})
# nn.Module methods that keep the mode (anything else on a module of an unseen class may not).
TORCH_MODULE_API = frozenset({
    "parameters", "named_parameters", "buffers", "named_buffers", "children", "named_children",
    "modules", "named_modules", "state_dict", "load_state_dict", "zero_grad", "register_buffer",
    "register_parameter", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_backward_hook", "register_module", "add_module",
    "get_submodule", "get_parameter", "get_buffer", "extra_repr", "numel", "num_parameters",
    "requires_grad_", "share_memory", "to", "cuda", "cpu", "half", "float", "double",
    "bfloat16", "type", "to_empty", "apply", "save_pretrained", "get_input_embeddings",
    "get_output_embeddings", "resize_token_embeddings", "tie_weights",
    "gradient_checkpointing_enable",
    "print_trainable_parameters", "compile", "xpu", "ipu", "mps", "__call__", "forward",
    "generate", "encode", "decode", "predict", "embed", "features", "forward_features",
    "config", "get_extended_attention_mask", "num_params",
})
# Parameter names that mean "training" when an enclosing ``if`` tests them.
TRAIN_FLAGS = frozenset({"train", "training", "train_mode"})
# Calls in an ``if`` test that give the same answer when asked again (guards).
PURE_TESTS = frozenset({"isinstance", "hasattr", "callable"})   # same answer when re-asked
