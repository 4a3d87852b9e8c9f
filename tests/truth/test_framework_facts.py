"""Framework facts RULES.md §1 relies on, checked against the installed libraries.

Skipped when a library is not installed (they are not dependencies of
torchmode); no download is needed: tiny models are built from configs.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn


def _require(module: str, *attributes: str) -> Any:
    """Import an optional library, or skip saying why (absent, or broken install,
    e.g. a torchvision built for another torch that transformers then imports)."""
    try:
        lib = importlib.import_module(module)
        for attribute in attributes:
            getattr(lib, attribute)
    except (ImportError, RuntimeError, OSError) as exc:
        reason = f"{module} not usable here: {type(exc).__name__}: {exc}"
        if module in os.environ.get("TORCHMODE_REQUIRE_FRAMEWORKS", "").split(","):
            pytest.fail(reason)  # CI installs these: a skip there would hide a broken check
        pytest.skip(reason)
    return lib


def _tiny_bert_config():
    transformers = _require("transformers", "BertConfig", "BertForSequenceClassification",
                            "Trainer", "TrainingArguments")
    return transformers, transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32, num_labels=2,
    )


def test_transformers_from_pretrained_returns_eval_mode(tmp_path: Path) -> None:
    transformers, config = _tiny_bert_config()
    built = transformers.BertForSequenceClassification(config)
    assert built.training, "a constructed transformers model is in training mode"
    built.save_pretrained(tmp_path)
    loaded = transformers.BertForSequenceClassification.from_pretrained(tmp_path)
    assert not loaded.training
    assert not any(m.training for m in loaded.modules())


def test_timm_create_model_returns_training_mode() -> None:
    timm = _require("timm", "create_model")
    model = timm.create_model("resnet18", pretrained=False, num_classes=3)
    assert model.training


def test_lightning_hooks_run_in_the_right_modes() -> None:
    pl = _require("pytorch_lightning", "LightningModule", "Trainer")
    seen: dict[str, tuple[bool, bool]] = {}

    class Lit(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 1))

        def training_step(self, batch, batch_idx):
            seen.setdefault("training_step", (self.net.training, torch.is_grad_enabled()))
            return self.net(batch).pow(2).mean()

        def validation_step(self, batch, batch_idx):
            seen.setdefault("validation_step", (self.net.training, torch.is_grad_enabled()))
            self.net(batch)

        def test_step(self, batch, batch_idx):
            seen.setdefault("test_step", (self.net.training, torch.is_grad_enabled()))
            self.net(batch)

        def predict_step(self, batch, batch_idx, dataloader_idx=0):
            seen.setdefault("predict_step", (self.net.training, torch.is_grad_enabled()))
            return self.net(batch)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(torch.randn(4, 4), batch_size=2)
    trainer = pl.Trainer(
        max_epochs=2, limit_train_batches=1, limit_val_batches=1, accelerator="cpu",
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0,
    )
    lit = Lit()
    trainer.fit(lit, data, data)
    trainer.test(lit, data, verbose=False)
    trainer.predict(lit, data)
    assert seen["training_step"] == (True, True)
    for hook in ("validation_step", "test_step", "predict_step"):
        assert seen[hook] == (False, False), hook


def test_transformers_trainer_evaluates_in_eval_mode_without_grad(tmp_path: Path) -> None:
    transformers, config = _tiny_bert_config()
    _require("accelerate")
    seen: list[tuple[bool, bool]] = []

    class Recording(transformers.BertForSequenceClassification):
        def forward(self, *args, **kwargs):
            seen.append((self.training, torch.is_grad_enabled()))
            return super().forward(*args, **kwargs)

    model = Recording(config)
    rows = [{"input_ids": torch.randint(0, 50, (8,)), "labels": torch.tensor(i % 2)}
            for i in range(4)]
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), per_device_eval_batch_size=2, report_to=[],
        use_cpu=True, remove_unused_columns=False,
    )
    trainer = transformers.Trainer(model=model, args=args, eval_dataset=rows)
    trainer.evaluate()
    assert seen and all(call == (False, False) for call in seen)
