"""Where jumps take the mode state: the interpreter's frame binder (interp/frames.py),
seen through the modes the engine reports at each forward call."""

from __future__ import annotations

from .helpers import facts

MODEL = "model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\n"


def test_eval_before_a_break_reaches_the_code_after_the_loop() -> None:
    got = facts(MODEL + """
for batch in loader:
    if batch is None:
        model.eval()
        break
    model(1)
model(2)
""")
    assert got["model(1)"].modes == {"train"}
    assert got["model(2)"].modes == {"train", "eval"}


def test_break_leaves_only_the_innermost_loop() -> None:
    got = facts(MODEL + """
for epoch in range(3):
    while True:
        model.eval()
        break
    model(1)
    model.train()
model(2)
""")
    assert got["model(1)"].modes == {"eval"}
    assert got["model(2)"].modes == {"train"}


def test_break_in_a_loop_else_leaves_the_enclosing_loop() -> None:
    got = facts(MODEL + """
while True:
    for batch in loader:
        model(1)
    else:
        model.eval()
        break
model(2)
""")
    assert got["model(2)"].modes == {"eval"}


def test_state_at_continue_reaches_the_next_iteration() -> None:
    got = facts(MODEL + """
for i in range(3):
    model(1)
    if i == 0:
        model.eval()
        continue
    model.train()
model(2)
""")
    assert got["model(1)"].modes == {"train", "eval"}
    assert got["model(2)"].modes == {"train", "eval"}


def test_break_runs_through_finally() -> None:
    got = facts(MODEL + """
while True:
    try:
        model.eval()
        if batch is None:
            break
        model(1)
    finally:
        model.train()
model(2)
""")
    assert got["model(1)"].modes == {"eval"}
    assert got["model(2)"].modes == {"train"}


def test_continue_runs_through_finally() -> None:
    got = facts(MODEL + """
model.eval()
for batch in loader:
    model(1)
    try:
        continue
    except Exception:
        raise
    finally:
        model.train()
""")
    assert got["model(1)"].modes == {"eval", "train"}


def test_return_runs_through_the_inner_finally_first() -> None:
    got = facts(MODEL + """
def run(m):
    m.eval()
    try:
        try:
            return m(0)
        except Exception:
            raise
        finally:
            m.train()
    except Exception:
        raise
    finally:
        m(1)

model.eval()
run(model)
model(2)
""")
    assert got["m(1)"].modes == {"train"}
    assert got["model(2)"].modes == {"train"}


def test_finally_that_returns_ends_the_held_paths() -> None:
    got = facts(MODEL + """
def run(m):
    while True:
        try:
            m.eval()
            break
        finally:
            return 0
    m(1)

run(model)
model(2)
""")
    # the break never gets past the finally; an exception raised before m.eval() also
    # runs the finally block and returns
    assert "m(1)" not in got
    assert got["model(2)"].modes == {"train", "eval"}


def test_break_out_of_no_grad_restores_grad() -> None:
    got = facts(MODEL + """
for batch in loader:
    model(1)
    with torch.no_grad():
        model(2)
        if batch is None:
            break
        continue
model(3)
""")
    assert got["model(1)"].grad_enabled is True
    assert got["model(2)"].grad_enabled is False
    assert got["model(3)"].grad_enabled is True


def test_finally_inside_no_grad_runs_without_grad_for_a_break() -> None:
    got = facts(MODEL + """
for batch in loader:
    with torch.no_grad():
        try:
            break
        finally:
            model(1)
model(2)
""")
    assert got["model(1)"].grad_enabled is False
    assert got["model(2)"].grad_enabled is True


def test_match_without_a_taken_case_keeps_the_state_before() -> None:
    got = facts(MODEL + """
match command:
    case "eval":
        model.eval()
    case "train":
        model.train()
model(1)
""")
    assert got["model(1)"].modes == {"train", "eval"}
