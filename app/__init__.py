"""Nexus anonymous chat: a stateless ASGI server whose state lives in Redis."""
