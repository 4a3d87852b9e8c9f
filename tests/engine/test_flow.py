"""Mode states along control flow: branches, loops to a fixed point, try/finally, exits."""

from __future__ import annotations

from .helpers import codes, facts

MODEL = "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"


def test_if_else_merges_to_a_set() -> None:
    got = facts(MODEL + """
if flag:
    model.eval()
model(1)
if flag:
    model.eval()
else:
    model.eval()
model(2)
""")
    assert got["model(1)"].modes == {"train", "eval"}
    assert got["model(2)"].modes == {"eval"}


def test_eval_at_end_of_epoch_reaches_next_epoch_step() -> None:
    found = codes(MODEL + """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x, y in train_loader:
        loss = model(x).sum()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            model(x)
""")
    assert (9, "TM003") in found
    assert all(code != "TM001" for _, code in found)


def test_train_at_epoch_start_is_clean() -> None:
    assert codes(MODEL + """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    model.train()
    for x, y in train_loader:
        model(x).sum().backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            model(x)
""") == []


def test_loop_fixed_point_reaches_the_first_statement() -> None:
    got = facts(MODEL + """
for i in range(3):
    model(i)
    model.eval()
""")
    assert got["model(i)"].modes == {"train", "eval"}


def test_break_leaves_before_eval() -> None:
    got = facts(MODEL + """
for i in range(3):
    if i == 1:
        break
    model.eval()
model(1)
""")
    assert got["model(1)"].modes == {"train", "eval"}


def test_continue_skips_train() -> None:
    got = facts(MODEL + """
model.eval()
for i in range(3):
    if i == 0:
        continue
    model.train()
model(1)
""")
    assert got["model(1)"].modes == {"train", "eval"}


def test_while_true_exits_only_by_break() -> None:
    got = facts(MODEL + """
while True:
    if done():
        model.eval()
        break
model(1)
""")
    assert got["model(1)"].modes == {"eval"}


def test_finally_restores_on_return() -> None:
    got = facts(MODEL + """
def run(m):
    was = m.training
    m.eval()
    try:
        return m(1)
    finally:
        m.train(was)

run(model)
model(2)
""")
    assert got["model(2)"].modes == {"train"}


def test_except_handler_sees_states_of_the_try_body() -> None:
    got = facts(MODEL + """
try:
    model.eval()
    risky()
except ValueError:
    model(1)
""")
    assert got["model(1)"].modes == {"train", "eval"}


def test_with_restores_grad_after_the_block() -> None:
    got = facts(MODEL + """
with torch.no_grad():
    model(1)
model(2)
torch.set_grad_enabled(False)
model(3)
""")
    assert got["model(1)"].grad_enabled is False
    assert got["model(2)"].grad_enabled is True
    assert got["model(3)"].grad_enabled is False


def test_dynamic_flag_is_never_reported() -> None:
    assert codes(MODEL + """
model.train(phase == "train")
with torch.no_grad():
    for x in val_loader:
        model(x)
""") == []


def test_phase_loop_correlates_branches() -> None:
    assert [c for _, c in codes(MODEL + """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for phase in ["train", "val"]:
        if phase == "train":
            model.train()
        else:
            model.eval()
        for x, y in loaders[phase]:
            with torch.set_grad_enabled(phase == "train"):
                loss = model(x).sum()
                if phase == "train":
                    loss.backward()
                    optimizer.step()
""")] == []


def test_nested_function_sees_its_own_parameter() -> None:
    found = codes(MODEL + """
def outer(loader):
    def evaluate(m):
        with torch.no_grad():
            return [m(x) for x in loader]
    return evaluate(model)

outer([])
""")
    assert found == [(6, "TM001")]


def test_trained_model_forwarded_in_a_helper_of_the_step() -> None:
    found = codes(MODEL + """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

def compute_loss(m, batch):
    return m(batch).sum()

for epoch in range(3):
    for batch in train_loader:
        loss = compute_loss(model, batch)
        loss.backward()
        optimizer.step()
    model.eval()
""")
    assert found == [(13, "TM003")]
