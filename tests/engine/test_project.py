"""ProjectIndex: lazy summaries, updates from editor text, removal, pickling."""

from __future__ import annotations

import pickle
from pathlib import Path

from torchmode.analyzer import analyze
from torchmode.project import ProjectIndex, module_name_of

HELPERS = (
    "import torch\n\n"
    "def freeze(model):\n"
    "    model.eval()\n\n"
    "def restore(model):\n"
    "    was = model.training\n"
    "    model.eval()\n"
    "    model.train(was)\n"
)
MAIN = (
    "import torch\nimport torch.nn as nn\nfrom helpers import freeze, restore\n\n"
    "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).train()\n"
    "restore(model)\n"
    "model(1)\n"
    "freeze(model)\n"
    "model(2)\n"
)


def _modes(result: object, line: int) -> set[str]:
    facts = [f for f in result.forward_calls if f.line == line]  # type: ignore[attr-defined]
    assert facts, line
    return set(facts[0].modes)


def test_function_summaries_through_the_index(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text(HELPERS, encoding="utf-8")
    main = tmp_path / "main.py"
    main.write_text(MAIN, encoding="utf-8")
    project = ProjectIndex.from_paths([str(tmp_path / "helpers.py"), str(main)])
    result = analyze(MAIN, str(main), project=project)
    assert _modes(result, 6) == {"train"}     # restore() puts it back
    assert _modes(result, 8) == {"eval"}      # freeze() leaves it in eval
    summary = project.summary(str(tmp_path / "helpers.py"))
    assert summary is not None and summary.module == "helpers"
    assert set(summary.functions) == {"freeze", "restore"}
    assert not summary.functions["restore"].effects


def test_update_from_editor_text_and_remove(tmp_path: Path) -> None:
    helpers = tmp_path / "helpers.py"
    helpers.write_text(HELPERS, encoding="utf-8")
    main = tmp_path / "main.py"
    project = ProjectIndex.from_paths([str(helpers)])
    project.update(str(main), MAIN)
    assert _modes(analyze(MAIN, str(main), project=project), 8) == {"eval"}
    # the editor changes freeze() to train(): the next analysis sees it
    project.update(str(helpers), HELPERS.replace("    model.eval()\n\ndef restore",
                                                 "    model.train()\n\ndef restore"))
    assert _modes(analyze(MAIN, str(main), project=project), 8) == {"train"}
    project.remove(str(helpers))
    assert len(project) == 1
    # unknown helper: the model is passed to code we cannot see
    assert "unknown" in _modes(analyze(MAIN, str(main), project=project), 8)


def test_a_file_that_does_not_parse_has_an_empty_summary(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def broken(:\n", encoding="utf-8")
    project = ProjectIndex.from_paths([str(bad)])
    summary = project.summary(str(bad))
    assert summary is not None and summary.functions == {} and summary.classes == {}


def test_index_pickles_without_caches(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text(HELPERS, encoding="utf-8")
    main = tmp_path / "main.py"
    main.write_text(MAIN, encoding="utf-8")
    project = ProjectIndex.from_paths([str(tmp_path / "helpers.py"), str(main)])
    analyze(MAIN, str(main), project=project)
    clone = pickle.loads(pickle.dumps(project))
    assert len(clone) == 2
    assert _modes(analyze(MAIN, str(main), project=clone), 8) == {"eval"}


def test_module_names_follow_packages(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "models.py").write_text("", encoding="utf-8")
    assert module_name_of(str(pkg / "models.py")) == "pkg.sub.models"
    assert module_name_of(str(pkg / "__init__.py")) == "pkg.sub"
    assert module_name_of(str(tmp_path / "script.py")) == "script"


def test_relative_import_of_a_model_class(tmp_path: Path) -> None:
    pkg = tmp_path / "proj"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "models.py").write_text(
        "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.drop = nn.Dropout(0.2)\n", encoding="utf-8")
    run = pkg / "run.py"
    text = ("import torch\nfrom .models import Net\n\nnet = Net()\n"
            "with torch.no_grad():\n    for x in val_loader:\n        net(x)\n")
    run.write_text(text, encoding="utf-8")
    project = ProjectIndex.from_paths([str(pkg / "models.py"), str(run)])
    result = analyze(text, str(run), project=project)
    assert [(f.code, f.severity.label) for f in result.findings] == [("TM001", "warning")]
    assert "Dropout(p=0.2)" in result.findings[0].message


def test_relative_paths_and_same_named_modules(tmp_path: Path, monkeypatch: object) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "helpers.py").write_text(
            HELPERS if folder == "a" else HELPERS.replace("model.eval()\n\ndef restore",
                                                          "model.train()\n\ndef restore"),
            encoding="utf-8")
        (tmp_path / folder / "main.py").write_text(MAIN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # type: ignore[attr-defined]
    paths = ["a/helpers.py", "a/main.py", "b/helpers.py", "b/main.py"]
    project = ProjectIndex.from_paths(paths)
    # each main.py takes the helpers.py of its own folder
    assert _modes(analyze(MAIN, "a/main.py", project=project), 8) == {"eval"}
    assert _modes(analyze(MAIN, "b/main.py", project=project), 8) == {"train"}
