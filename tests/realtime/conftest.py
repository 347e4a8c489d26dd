"""Real-time tests use a short ping interval so a ping can be observed quickly."""

from __future__ import annotations

import pytest

from inboxkit.config import Settings
from tests.realtime.support import PING_INTERVAL


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ping_interval": PING_INTERVAL})
