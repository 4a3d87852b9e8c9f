"""Fix verification in the background, for documents too large to verify inline.

A code action request on a large file lists the fixes already verified and queues
the rest here. Verification starts once code action requests for the document have
paused for ``VERIFY_DELAY_S``: it competes for the GIL, and the requests of an open
quick-fix menu must stay fast. It runs in the engine (the worker, with its time
budget and the same cross-file facts as the analysis), never with another engine.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..findings import Finding
from ..settings import Settings
from .actions import offered
from .documents import Snapshot

if TYPE_CHECKING:
    from .server import TorchmodeServer

log = logging.getLogger(__name__)
VERIFY_DELAY_S = 0.3


class VerificationQueue:
    """Findings waiting for verification per document, and their start timers (both
    touched on the event loop only)."""

    def __init__(self, server: TorchmodeServer) -> None:
        self._server = server
        self._pending: dict[str, list[tuple[Snapshot, Finding, Settings]]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def later(self, snap: Snapshot, finding: Finding, settings: Settings) -> None:
        """Queue ``finding``'s fixes (from any thread)."""
        self._server.from_thread(self._queue, snap, finding, settings)

    def hold(self, key: str) -> None:
        """A code action request for ``key`` arrived: restart its quiet period (from any
        thread)."""
        self._server.from_thread(self._delay, key)

    def _queue(self, snap: Snapshot, finding: Finding, settings: Settings) -> None:
        self._pending.setdefault(snap.key, []).append((snap, finding, settings))
        self._delay(snap.key)

    def _delay(self, key: str) -> None:
        loop = self._server.loop
        if key not in self._pending or loop is None:
            return
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = loop.call_later(VERIFY_DELAY_S, self._start, key)

    def _start(self, key: str) -> None:
        self._timers.pop(key, None)
        for snap, finding, settings in self._pending.pop(key, []):
            self._server.submit(self._verify, snap, finding, settings)

    def _verify(self, snap: Snapshot, finding: Finding, settings: Settings) -> Any:
        server = self._server
        current = server.read_on_loop(server.session.version_of, snap.key)
        if current is not None and current != snap.version:
            server.verifier.release(snap, finding)
            return  # the document changed: nobody will ask for this version again
        try:
            server.verifier.verify(
                snap, finding, lambda: offered(server.engine, snap, finding, settings)
            )
        except Exception as exc:
            log.info("verifying fixes of %s failed: %r", snap.key, exc)
