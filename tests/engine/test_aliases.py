"""Entities: names, attribute paths and aliases share one mode (RULES.md §2)."""

from __future__ import annotations

from .helpers import codes, facts

NET = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(x)

"""


def test_plain_alias_shares_mode() -> None:
    got = facts(NET + """
model = Net()
net = model
net.eval()
model(1)
""")
    assert got["model(1)"].modes == {"eval"}


def test_to_cuda_half_return_the_same_module() -> None:
    got = facts(NET + """
model = Net()
model = model.to("cpu")
model.cuda().half().eval()
model(1)
other = model.cpu()
other.train()
model(2)
""")
    assert got["model(1)"].modes == {"eval"}
    assert got["model(2)"].modes == {"train"}


def test_chained_construction_and_eval() -> None:
    got = facts(NET + """
model = Net().to("cpu").eval()
model(1)
fresh = Net().to("cpu")
fresh(1)
""")
    assert got["model(1)"].modes == {"eval"}
    assert got["fresh(1)"].modes == {"train"}


def test_wrappers_are_the_same_entity() -> None:
    got = facts(NET + """
from torch.nn.parallel import DistributedDataParallel as DDP
model = Net()
ddp = DDP(model)
compiled = torch.compile(model)
ddp.module.eval()
model(1)
compiled(1)
ddp(1)
""")
    assert got["model(1)"].modes == {"eval"}
    assert got["compiled(1)"].modes == {"eval"}
    assert got["ddp(1)"].modes == {"eval"}


def test_rebinding_breaks_the_alias() -> None:
    got = facts(NET + """
model = Net()
old = model
old.eval()
model = Net()
old(1)
model(1)
""")
    assert got["old(1)"].modes == {"eval"}
    assert got["model(1)"].modes == {"train"}


def test_submodule_follows_parent_eval() -> None:
    got = facts(NET + """
class Wrap(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = Net()

    def forward(self, x):
        return self.body(x)

w = Wrap()
w.eval()
w.body(1)
w.body.train()
w(1)
w.body(2)
""")
    assert got["w.body(1)"].modes == {"eval"}
    assert got["w(1)"].modes == {"eval"}   # the parent's own flag is unchanged
    assert got["w.body(2)"].modes == {"train"}


def test_dataframe_eval_and_builtin_eval_are_not_modules() -> None:
    assert codes("""
import pandas as pd
df = pd.DataFrame({"a": [1], "b": [2]})
df.eval("a + b")
total = eval("1 + 2")
""") == []


def test_subscripted_module_is_not_an_entity() -> None:
    assert codes("""
heads = nn.ModuleDict({"bbox": nn.Dropout(0.5)})
val_loader = []
with torch.no_grad():
    for x in val_loader:
        heads["bbox"](x)
""") == []


def test_loss_and_activation_modules_are_not_reported() -> None:
    assert codes("""
model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
criterion = nn.CrossEntropyLoss()
model.eval()
val_loader = []
with torch.no_grad():
    for x, y in val_loader:
        criterion(model(x), y)
""") == []
