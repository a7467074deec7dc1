"""The state table: every contract rule that can be read off the data."""

import pytest

from wa_client.states import RUNNING, STOPPED, TRANSITIONS, State, is_allowed


def test_every_state_has_a_row():
    assert set(TRANSITIONS) == set(State)


def test_running_and_stopped_split_the_states():
    assert RUNNING | STOPPED == set(State)
    assert not RUNNING & STOPPED


@pytest.mark.parametrize("state", list(State))
def test_force_reset_reaches_idle_from_every_state(state):
    assert is_allowed(state, State.IDLE)


@pytest.mark.parametrize("state", sorted(STOPPED))
def test_only_stopped_states_may_start(state):
    assert is_allowed(state, State.STARTING)


@pytest.mark.parametrize("state", sorted(RUNNING))
def test_running_states_never_restart(state):
    assert not is_allowed(state, State.STARTING) or state is State.STARTING


@pytest.mark.parametrize("state", sorted(STOPPED))
def test_nothing_leaves_a_stopped_state_by_itself(state):
    # Only start_session (-> starting) or force_reset (-> idle) move a stopped session.
    assert TRANSITIONS[state] <= {State.STARTING, State.IDLE}


def test_connected_never_goes_back_to_qr():
    # A QR after the chat list means the phone logged out: disconnected, never a silent QR.
    assert not is_allowed(State.CONNECTED, State.QR)
    assert is_allowed(State.CONNECTED, State.DISCONNECTED)


def test_idle_only_starts():
    assert TRANSITIONS[State.IDLE] == {State.STARTING}
