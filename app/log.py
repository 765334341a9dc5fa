"""Structured event log: one JSON object per line, never anything that identifies a visitor.

Callers pass an event name and a few fields chosen from a small vocabulary (counts,
states, close codes, staff usernames). Never pass message text, tokens, conversation
ids, return codes, phone numbers, IP addresses or user agents: a conversation's id in a
log line would outlive the conversation.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from typing import Any

from moderation.scrub import scrub

_logger = logging.getLogger("nexus")


class JsonFormatter(logging.Formatter):
    """Format records as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        # Defence in depth: other libraries' messages, and any field, pass through the same
        # scrubbing as everything that leaves a conversation (addresses, personnummer, numbers...).
        event = getattr(record, "event", None) or scrub(record.getMessage())
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": event,
        }
        payload.update({name: scrub(value) if isinstance(value, str) else value
                        for name, value in getattr(record, "fields", {}).items()})
        if record.exc_info and record.exc_info[0] is not None:
            payload["error"] = record.exc_info[0].__name__
            # Frames only: an exception's message can quote the input that caused it.
            payload["traceback"] = scrub("".join(traceback.format_tb(record.exc_info[2])))
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure(level: str) -> None:
    """Send our events and uvicorn's server messages to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log, and its INFO lines about WebSocket handshakes, record client
    # addresses: the first is never enabled, the second only passes warnings and errors.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
        logging.getLogger(name).setLevel(logging.WARNING)


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with a few non-identifying fields."""
    _logger.log(level, name, extra={"event": name, "fields": fields})


def failure(name: str, **fields: Any) -> None:
    """Log an unexpected error with its traceback (a bug or an outage, never visitor input)."""
    _logger.error(name, exc_info=True, extra={"event": name, "fields": fields})
