from __future__ import annotations

import pytest

from nexa.conversations.messages import status_advances
from nexa.conversations.models import MessageStatus as S


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        (S.pending, S.sent, True),
        (S.sent, S.delivered, True),
        (S.delivered, S.read, True),
        (S.pending, S.read, True),  # Meta may skip "delivered": read implies it
        (S.read, S.delivered, False),
        (S.delivered, S.sent, False),
        (S.read, S.read, False),  # a duplicate receipt
        (S.sent, S.failed, True),
        (S.pending, S.failed, True),
        (S.delivered, S.failed, False),  # it reached the customer
        (S.failed, S.sent, False),  # "failed" arrived before the "sent" of the same message
        (S.failed, S.delivered, True),
        (S.failed, S.read, True),
        (S.failed, S.failed, False),
    ],
)
def test_receipts_only_move_forward(current: S, new: S, moves: bool) -> None:
    assert status_advances(current, new) is moves
