"""Stop campaigns (tests/campaign.py): reminders through every kind of stop, counted from the simulator's record.

The short one runs in `make test`; the long one with `make test-campaign` (WA_CAMPAIGN=long).
"""

from __future__ import annotations

import os

import pytest

from tests.campaign import KINDS, Campaign
from tests.gateway import OUTPUT_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LONG = os.environ.get("WA_CAMPAIGN") == "long"


def run(simulator, shared_home, messages: int, stops: int, seed: int, name: str) -> None:
    figures = Campaign(simulator, shared_home / "profile", messages=messages, stops=stops, seed=seed).run()
    OUTPUT_DIR.mkdir(exist_ok=True)
    (OUTPUT_DIR / f"{name}.txt").write_text(figures.line() + "\n")
    print("\n" + figures.line())
    assert set(figures.stops) == set(KINDS) and sum(figures.stops.values()) == stops
    assert figures.accepted == messages
    assert (figures.sent_twice, figures.lost, figures.unconfirmed_readable) == (0, 0, 0), figures.line()
    assert figures.needed_a_hand == 0, figures.line()
    assert figures.sigterm_exits and set(figures.sigterm_exits) == {0}, figures.line()
    assert figures.sent_once + figures.unconfirmed + figures.other_failed >= messages, figures.line()


@pytest.mark.timeout(900)
def test_a_short_stop_campaign_sends_each_reminder_once(simulator, shared_home):
    run(simulator, shared_home, messages=10, stops=8, seed=24, name="stop-campaign-short")


@pytest.mark.timeout(3600)
@pytest.mark.skipif(not LONG, reason="the long campaign runs with `make test-campaign` (WA_CAMPAIGN=long)")
def test_a_long_stop_campaign_sends_each_reminder_once(simulator, shared_home):
    run(simulator, shared_home, messages=32, stops=16, seed=2026, name="stop-campaign-long")
