"""Every test gets its own ``torchmode check`` cache folder (``TORCHMODE_CACHE_DIR``), so
runs never share entries across tests or write into the repository."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCHMODE_CACHE_DIR", str(tmp_path_factory.mktemp("torchmode-cache")))
