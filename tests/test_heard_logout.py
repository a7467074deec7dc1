"""A wake that names one of WhatsApp's logout events is a logout heard: the worker decides without a probe
(a probe sent while the page leaves waits in chromedriver until the next document)."""

from __future__ import annotations

import pytest

from wa_client import selectors
from wa_client.page.probe import probe_args
from wa_client.page.watch import heard_logout
from wa_client.page.watch_scripts import MODULE_EVENTS

SIGNS = probe_args(selectors.load(None))


@pytest.mark.parametrize("reasons", [("unexpected_logout_modal",), ("dom", "logout_from_bridge"), ("logout",),
                                     ("starting_logout", "dom")])
def test_a_logout_event_among_the_wakes_is_heard(reasons):
    assert heard_logout(reasons, SIGNS)


@pytest.mark.parametrize("reasons", [(), ("dom",), ("load", "socket", "stream", "conn", "message"), ("command",),
                                     ("navigation",), ("logouts",), ("page",)])
def test_other_wakes_are_not_a_logout(reasons):
    assert not heard_logout(reasons, SIGNS)


def test_the_watchers_own_logout_reason_is_one_of_the_logout_events():
    reason = next(row[-1] for row in MODULE_EVENTS if row[0] == "CMD_MODULE")
    assert heard_logout((reason,), SIGNS)


def test_without_the_event_lists_nothing_is_heard():
    assert not heard_logout(("logout",), {})
