"""Pure-Python text screening (risk signals, personal-data scrubbing); no I/O, no app imports.

``moderation.assess(text)`` and ``moderation.assess_conversation(texts)`` score a visitor's
messages for ``LABELS`` (imminent danger, suicide risk, a child at risk) and return an
``Assessment`` with the labels at or over the threshold, the scores and the words that raised them
(see ``moderation/assess.py``; vocabulary and rules in ``moderation/data/risk_*.txt``);
``moderation.Context`` keeps a chat's last messages prepared, to assess it again at each new one.

``moderation.scrub(text)`` replaces personal identifiers with typed placeholders (see
``moderation/scrub.py``; its word lists are in ``moderation/data``).

``moderation.abusive(text)`` finds insults, harassment and threats aimed at the counselor, and
``fingerprint`` / ``is_repeat`` spot the same message sent again and again (``moderation/abuse.py``;
word lists in ``moderation/data/abuse_*.txt``).
"""

from moderation.abuse import abusive, fingerprint, is_repeat
from moderation.assess import LABELS, Assessment, Context, assess, assess_conversation
from moderation.scrub import scrub

__all__ = ["LABELS", "Assessment", "Context", "abusive", "assess", "assess_conversation", "fingerprint",
           "is_repeat", "scrub"]
