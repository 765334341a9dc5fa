"""Pure-Python text screening (risk signals, personal-data scrubbing); no I/O, no app imports.

``moderation.scrub(text)`` replaces personal identifiers with typed placeholders (see
``moderation/scrub.py``; its word lists are in ``moderation/data``).
"""

from moderation.scrub import scrub

__all__ = ["scrub"]
