"""The service's error family, and the one place it maps to HTTP statuses and close codes.

    ServiceError                  base; `code` is a stable machine name the clients translate
    ├── BadInput                  a frame or form the service cannot use (400 / error frame)
    │   ├── TooLong               a message over MESSAGE_MAX_CHARS
    │   ├── TooLarge              a form body over its limit, or of unknown length (413)
    │   ├── Malformed             not JSON, wrong type, unknown field
    │   ├── Empty                 a letter with no text
    │   └── CodeFormat            a return code that is not 16 digits (400)
    ├── RateLimited               too many messages in the window (429 / error frame)
    │   ├── TooManyAttempts       too many return codes or letters from one client, or from
    │                             everyone (429, with Retry-After)
    │   └── Repeated              the same message sent again and again (error frame)
    ├── QueueFull                 QUEUE_MAX conversations already wait (503)
    ├── Unavailable               Redis is not answering (restarting, failing over): try again (503)
    ├── LettersFull               LETTERS_MAX letters are already kept (503)
    ├── Closed                    outside opening hours (503)
    ├── ChatOpen                  a letter while a counselor can answer a chat now (409)
    ├── NotAllowed                no session, wrong session, or no right to do this (401/403)
    ├── CodeUnknown               a return code that opens nothing: wrong and expired alike (404)
    └── Gone                      the conversation has ended or expired (410)

WebSocket close codes (4000-4999 are the application's own):

    4400  too many malformed frames
    4401  no valid session (missing, wrong or expired token / staff login)
    4403  Origin not allowed
    4405  the staff member's role has no console (an admin)
    4408  no hello frame in time
    4409  replaced: the conversation was reopened with its return code elsewhere, so this
          session's token no longer opens it
    4410  the conversation is gone (expired or deleted)
    4429  flooding: far past the rate limit
    1013  try again later: Redis is not answering (a restart or failover); the client keeps
          reconnecting, and nothing it has not seen stored is lost
    1009  frame larger than the transport limit (sent by the server library itself)
"""

from __future__ import annotations

CLOSE_MALFORMED = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_ORIGIN = 4403
CLOSE_FORBIDDEN = 4405
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_REPLACED = 4409
CLOSE_GONE = 4410
CLOSE_FLOODING = 4429
CLOSE_TRY_LATER = 1013


class ServiceError(Exception):
    """Base of every error a client is told about."""

    code = "error"
    status = 500

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class BadInput(ServiceError):
    code = "bad_input"
    status = 400


class TooLong(BadInput):
    code = "too_long"


class TooLarge(BadInput):
    code = "too_large"
    status = 413


class Malformed(BadInput):
    code = "malformed"


class Empty(BadInput):
    code = "empty"


class CodeFormat(BadInput):
    code = "code_format"


class RateLimited(ServiceError):
    code = "rate_limited"
    status = 429


class TooManyAttempts(RateLimited):
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class Repeated(RateLimited):
    code = "repeated"


class QueueFull(ServiceError):
    code = "queue_full"
    status = 503


class Unavailable(ServiceError):
    code = "unavailable"
    status = 503


class LettersFull(ServiceError):
    code = "letters_full"
    status = 503


class ChatOpen(ServiceError):
    code = "chat_open"
    status = 409


class CodeUnknown(ServiceError):
    code = "code_unknown"
    status = 404


class Closed(ServiceError):
    code = "closed"
    status = 503


class NotAllowed(ServiceError):
    code = "not_allowed"
    status = 403


class Gone(ServiceError):
    code = "gone"
    status = 410
