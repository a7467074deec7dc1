"""The send policy as pure functions over a clock: the gap, the caps, failures in a row, quiet hours (no I/O)."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

import pytest

from wa_client import Settings
from wa_client.config.values import parse_send_hours
from wa_client.messaging.policy import DAY_S, SendPolicy, draw_gap, quiet_until, safeguard_wait

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC, a Friday
NO_CAPS = ((0, 60.0), (0, DAY_S))


def test_nothing_sent_yet_and_no_caps_means_now():
    assert safeguard_wait(NOW, None, 30.0, [], NO_CAPS) == 0.0


def test_the_gap_counts_from_the_end_of_the_previous_send():
    assert safeguard_wait(NOW, NOW - 10, 30.0, [NOW - 12], NO_CAPS) == 20.0
    assert safeguard_wait(NOW, NOW - 40, 30.0, [NOW - 42], NO_CAPS) == 0.0


def test_the_per_minute_cap_waits_for_the_oldest_send_in_the_window_to_leave_it():
    attempts = [NOW - 50, NOW - 30, NOW - 10]
    assert safeguard_wait(NOW, None, 0.0, attempts, ((3, 60.0), (0, DAY_S))) == 10.0
    assert safeguard_wait(NOW, None, 0.0, attempts, ((4, 60.0), (0, DAY_S))) == 0.0
    assert safeguard_wait(NOW, None, 0.0, [NOW - 70, *attempts[1:]], ((3, 60.0), (0, DAY_S))) == 0.0


def test_the_per_day_cap_counts_a_whole_day_and_the_longest_wait_wins():
    attempts = [NOW - DAY_S + 100, NOW - 5]
    assert safeguard_wait(NOW, NOW - 5, 30.0, attempts, ((0, 60.0), (2, DAY_S))) == 100.0
    assert safeguard_wait(NOW, NOW - 5, 300.0, attempts, ((0, 60.0), (2, DAY_S))) == 295.0


def test_a_gap_is_fixed_or_drawn_reproducibly_within_its_range():
    assert draw_gap((20.0, 20.0), random.Random(1)) == 20.0
    draws = [draw_gap((15.0, 45.0), random.Random(seed)) for seed in range(50)]
    assert all(15 <= d <= 45 for d in draws) and len(set(draws)) > 1
    assert draws == [draw_gap((15.0, 45.0), random.Random(seed)) for seed in range(50)]


def test_the_policy_reads_its_settings_and_draws_the_next_gap():
    policy = SendPolicy.from_settings(Settings(send_gap_s="10-20", send_per_minute=4, send_per_day=90,
                                               send_pause_after_failures=2), random.Random(3))
    assert policy.gap == (10.0, 20.0) and policy.caps == ((4, 60.0), (90, DAY_S)) and policy.pause_after == 2
    gap = policy.draw_gap()
    assert 10 <= gap <= 20 and policy.wait(NOW, NOW, []) == pytest.approx(gap)  # just sent: the whole gap to wait


@pytest.mark.parametrize(("pause_after", "failures", "paused_at"), [(3, 5, 3), (1, 2, 1), (0, 5, None)])
def test_failures_in_a_row_ask_for_the_pause_at_the_limit(pause_after, failures, paused_at):
    policy = SendPolicy((0.0, 0.0), NO_CAPS, pause_after)
    answers = [policy.failed() for _ in range(failures)]
    assert (answers.index(True) + 1 if True in answers else None) == paused_at


def test_a_success_starts_the_count_of_failures_again():
    policy = SendPolicy((0.0, 0.0), NO_CAPS, 2)
    assert policy.failed() is False
    policy.took()
    assert policy.failed() is False and policy.failed() is True


def test_quiet_hours_say_when_they_end_and_nothing_while_open():
    hours, zone = parse_send_hours("Mon-Fri 09:00-18:00"), ZoneInfo("UTC")
    assert quiet_until(hours, zone, NOW) == NOW + 3600  # 08:00 on a Friday: opens at 09:00
    assert quiet_until(hours, zone, NOW + 7200) is None
    assert quiet_until(parse_send_hours(""), zone, NOW) is None  # no hours: always open
