"""Message labels (DESIGN §13): what a label may be, and which ones the system sets.

A message carries user labels, which callers add and remove, and system labels, which follow
from the message itself and cannot be added or removed: `sent` (mail sent from the mailbox)
and `spam` (mail its verdict hid from the mailbox's default views). `draft` is reserved for
drafts.

Labels are case-insensitive: a label is trimmed and lower-cased before it is stored or matched,
so `Work`, ` work ` and `WORK` are one label, stored and shown as `work`, and `?label=Work`
finds it. A label is 1–64 characters after trimming, with no control characters or line
separators; a message carries at most 32.

This module is a leaf (no inboxkit imports): the search language, the store and the services
all apply the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_LABELS_PER_MESSAGE",
    "MAX_LABELS_PER_CHANGE",
    "SENT",
    "SPAM",
    "DRAFT",
    "SYSTEM_LABELS",
    "LabelError",
    "normalise",
    "user_label",
    "user_labels",
    "shown",
]

MAX_LABEL_CHARS = 64
MAX_LABELS_PER_MESSAGE = 32
MAX_LABELS_PER_CHANGE = 32  # items in one `add_labels` or `remove_labels`

SENT = "sent"
SPAM = "spam"
DRAFT = "draft"
SYSTEM_LABELS = frozenset({SENT, SPAM, DRAFT})

# C0 and C1 controls, DEL, the Unicode line and paragraph separators and lone surrogates: none
# can be shown on one line, and PostgreSQL cannot store a NUL.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class LabelError(ValueError):
    """A label that cannot be used; the text says why and what to do. `reserved` tells a
    well-formed system label name (a 400) from a malformed label (a 422)."""

    def __init__(self, message: str, *, reserved: bool = False):
        super().__init__(message)
        self.message = message
        self.reserved = reserved


def normalise(value: str) -> str:
    """`value` as labels are stored and matched (trimmed, lower-case), or LabelError when it is
    empty, too long or holds control characters. System label names pass."""
    if not isinstance(value, str):
        raise LabelError("A label is a string.")
    label = value.strip()
    if not label:
        raise LabelError("A label must not be empty or only spaces.")
    if _CONTROL.search(label):
        raise LabelError(
            f"The label {label[:MAX_LABEL_CHARS]!r} holds control characters or line "
            "separators; use printable characters only."
        )
    if len(label) > MAX_LABEL_CHARS:
        raise LabelError(
            f"A label is at most {MAX_LABEL_CHARS} characters; {label[:20]!r}… has {len(label)}. "
            "Shorten it."
        )
    return label.lower()


def user_label(value: str) -> str:
    """`value` normalised, or LabelError if it is malformed or a system label's name."""
    label = normalise(value)
    if label in SYSTEM_LABELS:
        raise LabelError(
            f"'{label}' is a system label ({', '.join(sorted(SYSTEM_LABELS))}): the server "
            "sets it, so it cannot be added or removed. Choose another name.",
            reserved=True,
        )
    return label


def user_labels(values: Iterable[str], field: str) -> list[str]:
    """Each of `values` as a user label, without repeats, in order; at most
    MAX_LABELS_PER_CHANGE of them."""
    items = list(values)
    if len(items) > MAX_LABELS_PER_CHANGE:
        raise LabelError(
            f"`{field}` may list at most {MAX_LABELS_PER_CHANGE} labels; it has {len(items)}."
        )
    return list(dict.fromkeys(user_label(value) for value in items))


def shown(user: Iterable[str], *, sent: bool, spam: bool) -> list[str]:
    """The labels a message (or a thread, from its messages) shows: its user labels sorted,
    then its system labels, `sent` when it is (or holds) outbound mail and `spam` when it is
    (or holds) mail hidden as spam."""
    labels = sorted(user)
    if sent:
        labels.append(SENT)
    if spam:
        labels.append(SPAM)
    return labels
