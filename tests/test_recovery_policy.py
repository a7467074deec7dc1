"""The restart policy as pure logic: capped exponential backoff, at most five tries an hour."""

from __future__ import annotations

from wa_client.session.recovery import MAX_BACKOFF_S, RestartPolicy


def test_the_backoff_doubles_from_five_seconds_and_gives_up_after_five_tries_an_hour():
    now = [0.0]
    policy = RestartPolicy(5.0, clock=lambda: now[0])
    delays = []
    for _ in range(5):
        delays.append(policy.next_delay())
        policy.record_try()
        now[0] += 60
    assert delays == [5, 10, 20, 40, 80]
    assert policy.next_delay() is None
    now[0] = 3600.0  # the first try is an hour old: one try is free again
    assert policy.next_delay() == 80


def test_the_backoff_is_capped_at_five_minutes():
    policy = RestartPolicy(100.0, clock=lambda: 0.0)
    for _ in range(4):
        policy.record_try()
    assert policy.next_delay() == MAX_BACKOFF_S
