"""The frame binder of the mode interpreter: where control goes, and how states meet.

In the manner of mypy's ``ConditionalTypeBinder``, the statement walker opens a frame
for each construct whose paths meet again (the arms of an ``if`` or a ``match``, a loop,
a ``try``, a grad-mode ``with``) and tells the binder when control leaves the straight
path (``return``, ``break``, ``continue``, ``raise``). The binder carries the state that
leaves to the frame the jump ends at, through the frames on its way (a ``finally``
holds it until its block has run; a grad context restores the grad state), and joins
the states that meet when a frame closes. So the walker keeps no pending lists and does
no joins: it opens frames, runs blocks in them, and closes them.

mypy's ``frame_context`` flags map to the frame kinds here: ``can_skip`` is
``branches(can_skip=True)`` (the state before may pass no arm), ``break_frame`` and
``continue_frame`` are a ``Loop``, ``try_frame`` is a ``Try``. mypy layers type maps
frame over frame; a ``State`` is a whole copy-on-write snapshot instead, so a frame
keeps the states that reach it rather than a diff.

The current state stays the run's own ``state`` field, read and written on every
statement: the binder reads and writes it there (``Holder``), and joins with the
interpreter's lookup of an entity's modes (``Lookup``: names never assigned in the run
included). The run and its binder refer to each other until the run ends, when the run
lets its binder go; the interpreter is referred to weakly. A cycle left behind would
keep a whole analysis alive until the cyclic garbage collector runs.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Protocol, TypeVar

from ..domain import (
    MAX_LOOP_ITERATIONS,
    GradCtxValue,
    Modes,
    State,
    grad_inside,
    resolve_alias,
)

T = TypeVar("T")


class Exit(enum.Enum):
    """How control leaves the straight path towards a frame further out."""

    RETURN = "return"
    BREAK = "break"
    CONTINUE = "continue"


class Holder(Protocol):
    """What owns the current state (the run)."""

    state: State | None


class Lookup(Protocol):
    """What looks entities up in a state (the interpreter)."""

    def _lookup(self, state: State, canonical: str) -> Modes | None: ...


class Frame:
    """An open region of code on the binder's stack. Entering pushes it, leaving pops it;
    leaving without an exception closes it (joins the states that meet at its end)."""

    __slots__ = ("binder",)

    def __init__(self, binder: Frames) -> None:
        self.binder = binder

    def __enter__(self) -> Frame:
        self.binder.stack.append(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.binder.stack.pop()
        if exc_type is None:
            self.close()

    def close(self) -> None:
        """The frame's paths meet: set the state after it."""

    def cross(self, exit: Exit, state: State, target: int) -> State | None:
        """A jump to the frame at stack index ``target`` (-1: the function) leaves this
        frame: the state that goes on outward, or None if this frame holds it."""
        return state


class Frames:
    """The binder of one run: the stack of open frames, the states at the function's
    ``return`` statements, and the join of states."""

    __slots__ = ("holder", "entities", "stack", "returns")

    def __init__(self, holder: Holder, entities: Lookup) -> None:
        self.holder = holder
        self.entities: Lookup = weakref.proxy(entities)
        self.stack: list[Frame] = []
        # states at ``return``, after the ``finally`` blocks they pass through
        self.returns: list[State] = []

    # ------------------------------------------------------------------ join

    def join(self, a: State | None, b: State | None) -> State:
        """The state where two paths meet: each entity may have the modes of either.
        A name aliased to different entities on the two paths becomes its own entity
        (``name@join``) with the modes of both; a saved flag survives if both agree."""
        if a is None:
            assert b is not None
            return b.copy()
        if b is None:
            return a.copy()
        if a.modes is b.modes and a.alias is b.alias and a.saved is b.saved:
            twin = a.copy()
            twin.grad, twin.lgrad = a.grad | b.grad, a.lgrad | b.lgrad
            return twin
        lookup = self.entities._lookup
        modes: dict[str, Modes] = {}
        alias: dict[str, str] = {}
        for key in a.alias.keys() | b.alias.keys():
            ca, cb = a.alias.get(key), b.alias.get(key)
            if ca == cb and ca is not None:
                alias[key] = ca
            else:
                ma = lookup(a, resolve_alias(a.alias, key)) or frozenset()
                mb = lookup(b, resolve_alias(b.alias, key)) or frozenset()
                alias[key] = f"{key}@join"
                modes[f"{key}@join"] = ma | mb
        for key in a.modes.keys() | b.modes.keys():
            if key in modes:
                continue
            got_a = a.modes.get(key)
            got_b = b.modes.get(key)
            ma = got_a if got_a is not None else (lookup(a, key) or frozenset())
            mb = got_b if got_b is not None else (lookup(b, key) or frozenset())
            modes[key] = ma | mb
        saved = {k: v for k, v in a.saved.items() if b.saved.get(k) == v}
        return State(modes, alias, a.grad | b.grad, a.lgrad | b.lgrad, saved)

    def join_all(self, states: Iterable[State | None]) -> State | None:
        """The join of the reachable states (None: none reaches), always a fresh state."""
        result: State | None = None
        for s in states:
            if s is None:
                continue
            result = s.copy() if result is None else self.join(result, s)
        return result

    def exit_state(self) -> State | None:
        """The state at the end of the function: its returns and the path that falls off
        its end, joined (None: no path ends)."""
        exits = [s for s in (*self.returns, self.holder.state) if s is not None]
        if not exits:
            return None
        final = exits[0]
        for other in exits[1:]:
            final = self.join(final, other)
        return final

    # ------------------------------------------------------------------ frames

    def branches(self, can_skip: bool = False) -> Branches:
        return Branches(self, can_skip)

    def loop(self) -> Loop:
        return Loop(self)

    def try_frame(self, has_finally: bool) -> Try:
        return Try(self, has_finally)

    def grad_context(self, values: frozenset[GradCtxValue]) -> GradContext:
        return GradContext(self, values)

    # ------------------------------------------------------------------ jumps

    def leave(self, exit: Exit) -> None:
        """Control leaves here by ``return``, ``break`` or ``continue``: the current state
        goes to the frame the jump ends at, and the code that follows is unreachable. A
        ``break`` or ``continue`` outside a loop goes nowhere."""
        state = self.holder.state
        self.holder.state = None
        if state is None:
            return
        target = -1 if exit is Exit.RETURN else self._loop_index()
        if target is not None:
            self.send(exit, state, len(self.stack) - 1, target)

    def unreachable(self) -> None:
        """Control ends here (``raise``). Handlers see the states a ``try`` body may raise
        at through the ``Try`` frame, not through this."""
        self.holder.state = None

    def _loop_index(self) -> int | None:
        stack = self.stack
        for i in range(len(stack) - 1, -1, -1):
            frame = stack[i]
            if isinstance(frame, Loop) and frame.running:
                return i
        return None

    def send(self, exit: Exit, state: State, start: int, target: int) -> None:
        """Carry ``state`` from the frame at ``start`` outward to ``target`` (-1: the
        function's returns), through each frame between them."""
        stack = self.stack
        for i in range(start, target, -1):
            found = stack[i].cross(exit, state, target)
            if found is None:
                return
            state = found
        if target < 0:
            self.returns.append(state)
        else:
            frame = stack[target]
            assert isinstance(frame, Loop)
            (frame.breaks if exit is Exit.BREAK else frame.continues).append(state)


class Branches(Frame):
    """The arms of an ``if`` or a ``match``. Each arm starts from the state before; after
    the frame, the state is the join of the arms' ends, and of the state before when
    control may pass no arm (``can_skip``: a ``match`` with no case taken)."""

    __slots__ = ("before", "ends", "can_skip")

    def __init__(self, binder: Frames, can_skip: bool) -> None:
        self.binder = binder
        self.can_skip = can_skip
        self.ends: list[State | None] = []

    def __enter__(self) -> Branches:
        before = self.binder.holder.state
        assert before is not None
        self.before = before
        if self.can_skip:
            self.ends.append(before)
        self.binder.stack.append(self)
        return self

    def arm(self) -> Arm:
        return Arm(self)

    def close(self) -> None:
        self.binder.holder.state = self.binder.join_all(self.ends)


class Arm:
    """One arm of a ``Branches`` frame: it starts from the state before the branches, and
    its end is one of the states they join."""

    __slots__ = ("fork",)

    def __init__(self, fork: Branches) -> None:
        self.fork = fork

    def __enter__(self) -> None:
        self.fork.binder.holder.state = self.fork.before.copy()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.fork.ends.append(self.fork.binder.holder.state)


class Loop(Frame):
    """A loop: while its body runs it is the target of the ``break`` and ``continue``
    statements in it. The body runs to a fixed point (``passes``), so that an ``eval()``
    at the end of epoch N reaches epoch N+1; the ``else`` block then runs from the
    state at the head, and when the frame closes the state after the loop is the join of
    that and the states at its ``break`` statements."""

    __slots__ = ("breaks", "continues", "running", "capped")

    def __init__(self, binder: Frames) -> None:
        super().__init__(binder)
        self.breaks: list[State] = []
        self.continues: list[State] = []
        self.running = False
        self.capped = False   # MAX_LOOP_ITERATIONS passes ran without reaching a fixed point

    def __enter__(self) -> Loop:
        self.binder.stack.append(self)
        return self

    def passes(self, exits_at_head: bool = True) -> Iterator[int]:
        """Run the body (once per item yielded) from the state at the head until the
        head stops changing: the head is joined with the states at the end of the body
        and at its ``continue`` statements. Afterwards the state is the head's, or None
        if the loop only exits by ``break`` (``while True``)."""
        binder, holder = self.binder, self.binder.holder
        assert holder.state is not None
        head = holder.state.copy()
        self.running = True
        for iteration in range(MAX_LOOP_ITERATIONS):
            holder.state = head.copy()
            yield iteration
            end = binder.join_all([holder.state, *self.continues])
            if end is None:
                break
            new_head = binder.join(head, end)
            if new_head.same(head):
                break
            head = new_head
            if iteration == MAX_LOOP_ITERATIONS - 1:
                self.capped = True
        self.running = False
        holder.state = head if exits_at_head else None

    def unrolled(self, items: Sequence[T]) -> Iterator[T]:
        """Run the body once per item, in order, each pass from the end of the one
        before (with its ``continue`` states), as long as a path goes on."""
        binder, holder = self.binder, self.binder.holder
        self.running = True
        for item in items:
            if holder.state is None:
                break
            yield item
            holder.state = binder.join_all([holder.state, *self.continues])
            self.continues.clear()
        self.running = False

    def close(self) -> None:
        holder = self.binder.holder
        holder.state = self.binder.join_all([holder.state, *self.breaks])


class Try(Frame):
    """A ``try`` statement. An exception may leave its body before any statement of it
    and after each one, so the handlers start from the join of the states there. The
    state after the handlers joins the body's end (after ``else``) with each handler's
    end. With a ``finally``, the frame holds the jumps that leave the ``try``, and the
    block runs for each group of them (``finally_passes``) before they go on."""

    __slots__ = ("holding", "has_finally", "raised", "held", "entry", "caught")

    def __init__(self, binder: Frames, has_finally: bool) -> None:
        super().__init__(binder)
        self.has_finally = has_finally
        self.holding = has_finally
        self.raised: list[State] = []     # states an exception may leave the body at
        self.held: list[tuple[Exit, int, State]] = []
        self.entry: State | None = None   # where the handlers start
        self.caught = False

    def __enter__(self) -> Try:
        self.binder.stack.append(self)
        return self

    def cross(self, exit: Exit, state: State, target: int) -> State | None:
        if not self.holding:
            return state
        self.held.append((exit, target, state))
        return None

    def body(self, stmts: list[T]) -> Iterator[T]:
        """The statements of the ``try`` body, one at a time, while a path goes on."""
        holder = self.binder.holder
        if holder.state is not None:
            self.raised.append(holder.state.copy())
        for stmt in stmts:
            if holder.state is None:
                break
            yield stmt
            if holder.state is not None:
                self.raised.append(holder.state.copy())

    def handlers(self, handlers: list[T]) -> Iterator[T]:
        """The ``except`` handlers, each from the state where the body may raise; call it
        after the ``else`` block (with no handlers too: it sets the state after them)."""
        binder, holder = self.binder, self.binder.holder
        entry = self.entry = binder.join_all(self.raised)
        ends = [holder.state]
        for handler in handlers:
            holder.state = entry.copy() if entry is not None else None
            yield handler
            ends.append(holder.state)
        self.caught = bool(handlers)
        holder.state = binder.join_all(ends)

    def finally_passes(self) -> Iterator[None]:
        """Run the ``finally`` block (once per item yielded): for the held returns, then
        for each enclosing loop, outer first, its breaks and then its continues (each
        group joined, then sent on to its target), and last for the path that goes on
        after the ``try``. With no handler and no such path, that last pass starts from
        where the body may raise: the exception goes through the block too."""
        if not self.has_finally:
            return
        binder, holder = self.binder, self.binder.holder
        normal = holder.state
        self.holding = False      # jumps in the finally block itself go straight out
        outside = len(binder.stack) - 2
        assert binder.stack[outside + 1] is self
        for exit, target, states in self._held_groups():
            holder.state = binder.join_all(states)
            yield None
            if holder.state is not None:
                binder.send(exit, holder.state, outside, target)
        entry = self.entry
        holder.state = normal if normal is not None else (
            entry.copy() if entry is not None and not self.caught else None)
        if holder.state is not None:
            yield None

    def _held_groups(self) -> list[tuple[Exit, int, list[State]]]:
        groups: dict[tuple[int, bool], tuple[Exit, int, list[State]]] = {}
        for exit, target, state in self.held:
            key = (target, exit is Exit.CONTINUE)
            if key not in groups:
                groups[key] = (exit, target, [])
            groups[key][2].append(state)
        return [groups[key] for key in sorted(groups)]


class GradContext(Frame):
    """A grad-mode ``with`` block (``torch.no_grad()`` & co): its body runs in the grad
    state it sets, and the ways out of it restore the state from before: the end of the
    body, and a ``break`` or ``continue`` that leaves it. A ``return`` keeps the body's
    grad state (the function's exit state gives its callers modes, not grad)."""

    __slots__ = ("values", "saved")

    def __init__(self, binder: Frames, values: frozenset[GradCtxValue]) -> None:
        super().__init__(binder)
        self.values = values

    def __enter__(self) -> GradContext:
        state = self.binder.holder.state
        assert state is not None
        self.saved = (state.grad, state.lgrad)
        state.grad = grad_inside(self.values, state.grad)
        state.lgrad = grad_inside(self.values, state.lgrad)
        self.binder.stack.append(self)
        return self

    def cross(self, exit: Exit, state: State, target: int) -> State | None:
        if exit is not Exit.RETURN:
            state.grad, state.lgrad = self.saved
        return state

    def close(self) -> None:
        state = self.binder.holder.state
        if state is not None:
            state.grad, state.lgrad = self.saved
