"""The committee's figures as tables, built from a period's counter totals (pure: no I/O).

Each table says what it counts in plain words; its labels are message ids (translated when shown)
or names that need no translation (languages in their own names, referral links' names).
Suppression is applied afterwards to every table alike (app/stats/suppression.py), so the
dashboard, the exports and the printed report all show the same suppressed figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from app.i18n import LANGUAGES, N_
from app.staff.classification import QUESTIONS
from app.stats.suppression import Table

WAITS = ("0-1m", "1-5m", "5-15m", "15-30m", "30m+")
DURATIONS = ("0-5m", "5-15m", "15-30m", "30-60m", "60m+")
NUMBER = N_("Number")
TOTAL = N_("Total")


def _count(totals: Mapping[str, int], field: str) -> int:
    return int(totals.get(field, 0))


def _list(
    title: str, rows: Sequence[tuple[str, str]], totals: Mapping[str, int], total: bool = False
) -> Table:
    """A one-column table: (label, counter field) per row, optionally with a total row."""
    cells = [[_count(totals, field)] for _, field in rows]
    labels = [label for label, _ in rows]
    if total and len(rows) > 1:  # a total of one row (or of none) would only repeat it
        cells.append([sum(row[0] for row in cells)])
        labels.append(TOTAL)
    return Table(
        title=title, row_labels=labels, col_labels=[NUMBER], cells=cells, row_total=total and len(rows) > 1
    )


def tables(totals: Mapping[str, int], referrals: Sequence[tuple[str, str]]) -> list[Table]:
    """Every table of the dashboard and the report; `referrals` are (code, name) of the links."""
    found: list[Table] = [
        _list(
            N_("Reaching out"),
            [
                (N_("Chats started"), "chat.started"),
                (N_("Messages left"), "letter.left"),
                (N_("Callbacks booked"), "callback.booked"),
                (N_("Came back with a return code"), "chat.returned"),
            ],
            totals,
        ),
    ]
    waiting = [
        [_count(totals, f"chat.taken|wait={w}"), _count(totals, f"chat.abandoned|wait={w}")] for w in WAITS
    ]
    waiting = [[taken, left, taken + left] for taken, left in waiting]
    waiting.append([sum(column) for column in zip(*waiting, strict=True)])
    found.append(
        Table(
            title=N_("Waiting in the queue"),
            row_labels=[*WAITS, TOTAL],
            col_labels=[N_("Answered"), N_("Left while waiting"), TOTAL],
            cells=waiting,
            row_total=True,
            col_total=True,
        )
    )
    found.append(
        _list(
            N_("Length of answered chats"),
            [(d, f"chat.ended|duration={d}") for d in DURATIONS],
            totals,
            total=True,
        )
    )
    found.append(
        _list(
            N_("Callbacks"),
            [
                (N_("Booked"), "callback.booked"),
                (N_("Moved"), "callback.moved"),
                (N_("Cancelled"), "callback.cancelled"),
                (N_("Reached"), "callback.reached"),
                (N_("Not reached"), "callback.not_reached"),
                (N_("Second tries"), "callback.retried"),
            ],
            totals,
        )
    )
    found.append(
        _list(
            N_("Intakes"),
            [
                (N_("Proposed"), "intake.proposed"),
                (N_("Consented"), "intake.consented"),
                (N_("Declined"), "intake.declined"),
                (N_("Withdrawn"), "intake.withdrawn"),
                (N_("Delivered"), "intake.delivered"),
            ],
            totals,
        )
    )
    found.append(
        _list(
            N_("Risk signals"),
            [
                (N_("danger now"), "risk.signal|label=imminent_danger"),
                (N_("suicide risk"), "risk.signal|label=suicide_risk"),
                (N_("child at risk"), "risk.signal|label=child_at_risk"),
            ],
            totals,
        )
    )
    for question in QUESTIONS:  # several forms of violence can apply to one chat: no total there
        rows = [(label, f"class.{question.code}|answer={code}") for code, label in question.answers]
        found.append(_list(question.label, rows, totals, total=not question.several))
    found.append(
        _list(
            N_("Chats started by language"),
            [(lang.name, f"chat.started|lang={code}") for code, lang in LANGUAGES.items()],
            totals,
            total=True,
        )
    )
    found.append(
        _list(
            N_("Visits through referral links"),
            [(name, f"referral.visit|ref={code}") for code, name in referrals],
            totals,
            total=True,
        )
    )
    found.append(
        _list(
            N_("Did you get the help you needed?"),
            [
                (N_("Yes"), "feedback.helped|answer=yes"),
                (N_("Partly"), "feedback.helped|answer=partly"),
                (N_("No"), "feedback.helped|answer=no"),
            ],
            totals,
            total=True,
        )
    )
    found.append(
        _list(
            N_("Would you contact us again?"),
            [
                (N_("Yes"), "feedback.again|answer=yes"),
                (N_("No"), "feedback.again|answer=no"),
                (N_("Not sure"), "feedback.again|answer=unsure"),
            ],
            totals,
            total=True,
        )
    )
    return found


def staffed_hours(totals: Mapping[str, int]) -> float:
    """Hours with at least one counselor on duty (not about anyone who reached out: never suppressed)."""
    return round(_count(totals, "staffed.minutes") / 60, 1)
