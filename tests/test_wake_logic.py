"""The pure parts of listening (wa_client/page/watch.py): the wake budget, the reasons, the Listener's own side."""

from __future__ import annotations

import pytest

from wa_client.page.watch import Listener, WakeBudget, wake_reasons
from wa_client.page.watch_scripts import WAIT_SCRIPT, WAKE_JS


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_first_wakes_after_a_quiet_spell_look_at_once():
    clock = Clock()
    budget = WakeBudget(0.2, burst=3, clock=clock)
    assert [budget.delay() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_a_flood_of_wakes_looks_no_more_often_than_polling():
    clock = Clock()
    budget = WakeBudget(0.2, burst=3, clock=clock)
    looks, waited = 0, 0.0
    while clock.now < 110.0:  # ten seconds of wakes, each looked at as soon as the budget allows
        delay = budget.delay()
        clock.now += delay + 0.001
        waited += delay
        looks += 1
    assert looks <= 3 + 10.0 / 0.2 + 1
    assert waited > 9.0


def test_the_budget_refills_while_the_page_is_quiet():
    clock = Clock()
    budget = WakeBudget(0.2, burst=3, clock=clock)
    for _ in range(3):
        budget.delay()
    assert budget.delay() == pytest.approx(0.2)
    clock.now += 5.0
    assert budget.delay() == 0.0


@pytest.mark.parametrize(("raw", "expected"), [
    (None, ()), ("dom", ()), ({"a": 1}, ()), ([], ()),
    (["dom", "conn"], ("dom", "conn")), (["x" * 100], ("x" * 40,)), ([{"bad": 1}, "load"], ("load",)),
])
def test_wake_reasons_are_short_strings_only(raw, expected):
    assert wake_reasons(raw) == expected


class FakeBrowser:
    """Only the Listener's view of a Browser (a unit test of its own logic, not of Chromium)."""

    def __init__(self, answer=None, error: Exception | None = None) -> None:
        self.closed = False
        self.calls: list[tuple] = []
        self.timeouts: list[float | None] = []
        outer = self

        class Driver:
            def execute_async_script(self, script, *args):
                outer.calls.append(args)
                if error is not None:
                    raise error
                return answer

        self.driver = Driver()

    def set_command_timeout(self, seconds: float | None) -> None:
        self.timeouts.append(seconds)


def test_a_command_ends_the_next_wait_without_asking_the_page():
    browser = FakeBrowser(answer=[])
    listener = Listener(browser, {}, sleep=lambda s: None)
    listener.nudge()
    assert listener.wait(0.2) == ("command",)
    assert browser.calls == []
    assert listener.wait(0.2) == ()  # the nudge was used up
    assert browser.calls[0][1] == 200  # the bound, in ms
    assert browser.timeouts[-1] is None  # the long default is back for page actions


def test_a_wait_that_fails_is_a_wake_after_a_short_pause():
    paused: list[float] = []
    listener = Listener(FakeBrowser(error=RuntimeError("document unloaded while waiting for result")), {},
                        sleep=paused.append)
    assert listener.wait(1.0) == ("navigation",)
    assert paused and max(paused) <= 0.05
    assert listener.failures == 1


def test_page_scripts_keep_the_shared_names():
    # other page scripts (messaging, logout listeners) rely on these names
    assert "window.__waGateway" in WAKE_JS and ".woken" in WAKE_JS and ".wake(" in WAKE_JS
    assert "G.jobs = G.jobs || {}" in WAIT_SCRIPT  # the messaging jobs share window.__waGateway
