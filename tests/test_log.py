import json
import logging
import sys

from app.log import JsonFormatter


def record(message: str, name: str = "uvicorn.error") -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, (), None)


def test_lines_are_json_with_an_event():
    line = json.loads(JsonFormatter().format(record("Application startup complete.")))
    assert line["event"] == "Application startup complete." and line["level"] == "info"


def test_client_addresses_in_library_messages_are_removed():
    for text in ('127.0.0.1:50508 - "WebSocket /ws/chat" [accepted]', "from ::1 port 5",
                 "peer 2001:db8::8a2e:370:7334 went away", "client 10.1.2.3"):
        line = JsonFormatter().format(record(text))
        for address in ("127.0.0.1", "::1", "2001:db8", "10.1.2.3"):
            assert address not in line


def test_times_and_versions_are_not_mistaken_for_addresses():
    line = json.loads(JsonFormatter().format(record("at 13:43:04 with version 1.2.3")))
    assert line["event"] == "at 13:43:04 with version 1.2.3"


def test_tracebacks_carry_frames_but_not_the_exception_message():
    visitor_text = "secret visitor text"
    try:
        int(visitor_text)
    except ValueError:
        logged = logging.LogRecord("nexus", logging.ERROR, __file__, 1, "failed", (), None)
        logged.exc_info = sys.exc_info()
    line = JsonFormatter().format(logged)
    assert "ValueError" in line and "secret visitor text" not in line


def test_identifiers_in_library_messages_and_fields_are_scrubbed():
    message = record("bad frame from 19811218-9876, call 070-123 45 67 or mail a@b.se")
    message.fields = {"detail": "pnr 811218-9876"}  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(message))
    assert line["event"] == "bad frame from [personnummer], call [telefon] or mail [e-post]"
    assert line["detail"] == "pnr [personnummer]"
