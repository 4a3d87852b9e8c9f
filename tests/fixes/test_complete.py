"""Complete and combined quick fixes (RULES.md §4), shape by shape, as exact text.

Each program has the bug in its most common shape; the first offered fix is the one
a PyTorch user writes: ``model.eval()`` before the evaluation part *and* the edit
that keeps training in train mode (``model.train()`` where the training part of the
iteration starts, after the helper's call, or the helper saving and restoring the
mode). Fix-all applies the same, and the result has no finding left.
"""

from __future__ import annotations

import pytest
from torchmode.analyzer import analyze
from torchmode.fixes import apply_edits, fix_all, offered_fixes

from fixes.complete_sources import ISSUE_EXAMPLE
from fixes.helpers import src

PATH = "train.py"

INLINE = src('''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(x))


def main(train_loader, val_loader):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(3):
        for x, y in train_loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        correct = 0
        with torch.no_grad():
            for x, y in val_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        print(correct)
''')

INLINE_FIXED = src('''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(x))


def main(train_loader, val_loader):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(3):
        model.train()
        for x, y in train_loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        correct = 0
        model.eval()
        with torch.no_grad():
            for x, y in val_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        print(correct)
''')


HELPER = ISSUE_EXAMPLE

HELPER_FIXED = src('''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(x))


def evaluate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            correct += (out.argmax(1) == y).sum().item()
    return correct


def main(train_loader, val_loader):
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(3):
        for x, y in train_loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        evaluate(model, val_loader)
        model.train()
''')


TWO_CALLERS = src('''
import torch
import torch.nn as nn


def evaluate(model, loader):
    total = 0
    with torch.no_grad():
        for x, y in loader:
            total += (model(x).argmax(1) == y).sum().item()
    return total


model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    print(evaluate(model, val_loader))
    print(evaluate(model, test_loader))
''')

TWO_CALLERS_FIXED = src('''
import torch
import torch.nn as nn


def evaluate(model, loader):
    was_training = model.training
    model.eval()
    total = 0
    with torch.no_grad():
        for x, y in loader:
            total += (model(x).argmax(1) == y).sum().item()
    model.train(was_training)
    return total


model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    print(evaluate(model, val_loader))
    print(evaluate(model, test_loader))
''')


WHILE_LOOP = src('''
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
step = 0
while step < 100:
    for x, y in train_loader:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
    with torch.no_grad():
        for x, y in val_loader:
            print(model(x).argmax(1))
''')

WHILE_LOOP_FIXED = src('''
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
step = 0
while step < 100:
    model.train()
    for x, y in train_loader:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            print(model(x).argmax(1))
''')


EVERY_N = src('''
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.Adam(model.parameters())
for epoch in range(10):
    for step, (x, y) in enumerate(train_loader):
        out = model(x)
        loss = nn.functional.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            with torch.no_grad():
                for vx, vy in val_loader:
                    print(model(vx).argmax(1))
''')

EVERY_N_FIXED = src('''
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.Adam(model.parameters())
for epoch in range(10):
    for step, (x, y) in enumerate(train_loader):
        model.train()
        out = model(x)
        loss = nn.functional.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            with torch.no_grad():
                model.eval()
                for vx, vy in val_loader:
                    print(model(vx).argmax(1))
''')


GAN = src('''
import torch
import torch.nn as nn

G = nn.Sequential(nn.Linear(8, 4), nn.Dropout(0.3))
D = nn.Sequential(nn.Linear(4, 1), nn.Dropout(0.3))
opt_g = torch.optim.Adam(G.parameters())
opt_d = torch.optim.Adam(D.parameters())
for epoch in range(5):
    for real in loader:
        z = torch.randn(real.shape[0], 8)
        fake = G(z)
        d_loss = D(real).mean() - D(fake.detach()).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = -D(fake).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    with torch.no_grad():
        for real in val_loader:
            print(D(real).mean(), D(G(torch.randn(real.shape[0], 8))).mean())
''')

GAN_FIXED = src('''
import torch
import torch.nn as nn

G = nn.Sequential(nn.Linear(8, 4), nn.Dropout(0.3))
D = nn.Sequential(nn.Linear(4, 1), nn.Dropout(0.3))
opt_g = torch.optim.Adam(G.parameters())
opt_d = torch.optim.Adam(D.parameters())
for epoch in range(5):
    D.train()
    for real in loader:
        z = torch.randn(real.shape[0], 8)
        fake = G(z)
        d_loss = D(real).mean() - D(fake.detach()).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = -D(fake).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    D.eval()
    with torch.no_grad():
        for real in val_loader:
            print(D(real).mean(), D(G(torch.randn(real.shape[0], 8))).mean())
''')


DP = src('''
import torch
import torch.nn as nn

model = nn.DataParallel(nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5)))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        for x, y in val_loader:
            print(model(x).argmax(1))
''')

DP_FIXED = src('''
import torch
import torch.nn as nn

model = nn.DataParallel(nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5)))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    model.train()
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            print(model(x).argmax(1))
''')


COMBINED = src('''
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for x, y in val_loader:
        print(model(x).argmax(1))
''')

COMBINED_FIXED = src('''
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    model.train()
    for x, y in train_loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    for x, y in val_loader:
        print(model(x).argmax(1))
''')



FOR_ELSE = src('''
    import torch
    import torch.nn as nn

    model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for e in range(3):
        total = 0
        for x, y in train_loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        else:
            with torch.no_grad():
                for x, y in test_loader:
                    print(model(x).argmax(1))
    ''')

FOR_ELSE_FIXED = src('''
    import torch
    import torch.nn as nn

    model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for e in range(3):
        total = 0
        model.train()
        for x, y in train_loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        else:
            with torch.no_grad():
                model.eval()
                for x, y in test_loader:
                    print(model(x).argmax(1))
    ''')

SHAPES = {
    "inline validation, no mode calls": (INLINE, INLINE_FIXED, [
        "Insert model.eval() before the with block and model.train() at line 19"]),
    "helper called after the inner training loop": (HELPER, HELPER_FIXED, [
        "Insert model.eval() at the start of evaluate() and model.train() at line 33",
        "Insert model.eval() at the start of evaluate() and model.train(was_training) on "
        "every return"]),
    "helper called from two places": (TWO_CALLERS, TWO_CALLERS_FIXED, [
        "Insert model.eval() at the start of evaluate() and model.train(was_training) on "
        "every return"]),
    "while training loop": (WHILE_LOOP, WHILE_LOOP_FIXED, [
        "Insert model.eval() before the with block and model.train() at line 8"]),
    "evaluation every N steps": (EVERY_N, EVERY_N_FIXED, [
        "Insert model.eval() before the loop and model.train() at line 8"]),
    "GAN with two models": (GAN, GAN_FIXED, [
        "Insert D.eval() before the with block and D.train() at line 9"]),
    "DataParallel": (DP, DP_FIXED, [
        "Insert model.eval() before the with block and model.train() at line 7"]),
    "validation in the training loop's else (for/else)": (FOR_ELSE, FOR_ELSE_FIXED, [
        "Insert model.eval() before the loop and model.train() at line 8"]),
    "TM001 and TM002 on one loop": (COMBINED, COMBINED_FIXED, [
        "Insert model.eval() before the loop and model.train() at line 7",
        "Insert model.eval() and wrap the loop in torch.no_grad(), and model.train() at "
        "line 7"]),
}


def _tm001(text: str):
    found = [f for f in analyze(text, PATH).findings if f.code == "TM001"]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_the_first_fix_is_complete(shape: str) -> None:
    text, fixed, titles = SHAPES[shape]
    fixes = offered_fixes(text, PATH, _tm001(text))
    assert [fix.title for fix in fixes] == titles
    assert apply_edits(text, list(fixes[0].edits)) == fixed
    assert analyze(fixed, PATH).findings == [] or shape == "TM001 and TM002 on one loop"


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_fix_all_leaves_nothing_in_one_run(shape: str) -> None:
    text, fixed, _ = SHAPES[shape]
    result = fix_all(text, PATH, unsafe=True)
    assert analyze(result.text, PATH).findings == []
    assert fix_all(result.text, PATH, unsafe=True).text == result.text
    if shape != "TM001 and TM002 on one loop":
        assert result.text == fixed


def test_the_minimal_eval_alone_is_not_offered() -> None:
    """Inserting only ``model.eval()`` would train in eval mode from the second epoch on
    (a new TM003): that fix is not listed, only its complete version."""
    kinds = [fix.kinds for fix in offered_fixes(INLINE, PATH, _tm001(INLINE))]
    assert kinds == [("insert-eval", "insert-train")]


def test_combined_fix_on_both_findings_and_fix_all_applies_both() -> None:
    findings = analyze(COMBINED, PATH).findings
    assert sorted(f.code for f in findings) == ["TM001", "TM002"]
    tm002 = next(f for f in findings if f.code == "TM002")
    titles = [fix.title for fix in offered_fixes(COMBINED, PATH, tm002)]
    assert titles == [
        "Wrap the loop in with torch.no_grad():",
        "Wrap the loop in with torch.inference_mode():",
        "Insert model.eval() and wrap the loop in torch.no_grad(), and model.train() at "
        "line 7"]
    both = offered_fixes(COMBINED, PATH, tm002)[-1]
    assert both.preferred
    expected = src('''
        import torch
        import torch.nn as nn

        model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            model.train()
            for x, y in train_loader:
                opt.zero_grad()
                nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                for x, y in val_loader:
                    print(model(x).argmax(1))
        ''')
    assert apply_edits(COMBINED, list(both.edits)) == expected
    result = fix_all(COMBINED, PATH, unsafe=True)
    assert result.text == expected
    assert sorted(f.code for f in result.fixed) == ["TM001", "TM002"]
