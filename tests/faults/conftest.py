"""The SDK tests here run with both clients, as tests/client's do."""

from tests.client.conftest import sdk

__all__ = ["sdk"]
