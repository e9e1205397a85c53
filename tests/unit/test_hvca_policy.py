"""Validity clamping for the GlobalSign adapter: a cut validity still ends with a day."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ca_adapters.globalsign.policy import Policy, clamp_validity
from tests import timestamps
from tests.timestamps import JST


def policy(seconds_max: int) -> Policy:
    return Policy.parse({"validity": {"secondsmax": seconds_max}})


@pytest.mark.parametrize(
    ("limit", "ends"),
    [
        (datetime(2027, 12, 28, 9, 58, tzinfo=JST), datetime(2027, 12, 27, 23, 59, 59, tzinfo=JST)),
        (
            datetime(2027, 12, 27, 23, 59, 59, tzinfo=JST),
            datetime(2027, 12, 27, 23, 59, 59, tzinfo=JST),
        ),
        (datetime(2027, 12, 28, 0, 0, tzinfo=JST), datetime(2027, 12, 27, 23, 59, 59, tzinfo=JST)),
    ],
)
def test_a_validity_cut_by_secondsmax_ends_at_the_last_day_end_within_it(limit, ends):
    start = timestamps.issued
    seconds_max = int((limit - start).total_seconds())
    wanted_end = datetime(2028, 11, 26, 23, 59, 59, tzinfo=JST)
    sent = clamp_validity(policy(seconds_max), start, wanted_end, start, JST)
    assert sent == (int(start.timestamp()), int(ends.timestamp()))


def test_a_validity_within_secondsmax_is_sent_as_asked():
    start = timestamps.issued
    wanted_end = timestamps.expiry_evening
    sent = clamp_validity(policy(733 * 86400), start, wanted_end, start + timedelta(seconds=5), JST)
    assert sent == (int(start.timestamp()), int(wanted_end.timestamp()))
