"""Two apps in one process (as in the tests, or a second create_app): each keeps its own Socket.IO clients."""

from __future__ import annotations

import app as app_module


def received(sio_client) -> dict[str, list]:
    """The events a Flask-SocketIO test client got, by name."""
    out: dict[str, list] = {}
    for message in sio_client.get_received():
        out.setdefault(message["name"], []).append(message["args"][0] if message["args"] else None)
    return out


def test_a_client_of_the_first_app_still_gets_its_events_after_a_second_app_is_built(app_factory, tmp_path):
    first = app_factory()
    listener = app_module.socketio.test_client(first)
    assert "status" in received(listener)  # the greeting
    second = app_factory(profile_dir=str(tmp_path / "second"))
    bystander = app_module.socketio.test_client(second)
    received(bystander)
    assert first.test_client().post("/force-reset").status_code == 200
    assert received(listener)["status"][-1]["state"] == "idle"
    assert "status" not in received(bystander)  # the second app's clients hear nothing of the first's session
    listener.disconnect()
    bystander.disconnect()


def test_a_client_of_the_first_app_is_still_answered_after_a_second_app_is_built(app_factory, tmp_path):
    first = app_factory()
    asker = app_module.socketio.test_client(first)
    asker.get_received()
    second = app_factory(profile_dir=str(tmp_path / "second"))
    bystander = app_module.socketio.test_client(second)
    bystander.get_received()
    asker.emit("force-reset")
    assert received(asker)["force-reset-success"][0]["message"]
    assert received(bystander) == {}
    asker.disconnect()
    bystander.disconnect()
