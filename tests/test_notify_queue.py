"""The one background queue the alerts and the webhooks share: in order, one worker at a time, never stuck."""

from __future__ import annotations

import threading

from tests.helpers import wait_until
from wa_client.notify.queue import BackgroundQueue


def _thread(fn, *args):
    threading.Thread(target=fn, args=args, daemon=True).start()


def test_items_are_handled_in_order_by_one_worker_that_ends_when_none_waits():
    handled, gate, workers = [], threading.Event(), []

    def spawn(fn):
        workers.append(fn)
        _thread(fn)

    def handle(item):
        gate.wait(5)
        handled.append(item)

    queue = BackgroundQueue(spawn, handle)
    for item in range(5):
        queue.put(item)
    assert len(workers) == 1 and queue.running
    gate.set()
    wait_until(lambda: not queue.running, 5, what="the worker to end")
    assert handled == [0, 1, 2, 3, 4]
    queue.put(5)  # a new item starts a new worker
    wait_until(lambda: handled[-1] == 5 and not queue.running, 5, what="the second worker")
    assert len(workers) == 2


def test_past_its_bound_the_oldest_item_falls_out():
    handled, workers = [], []
    queue = BackgroundQueue(workers.append, handled.append, maxlen=2)  # the worker is run below, by hand
    for item in "abc":
        queue.put(item)
    workers[0]()
    assert handled == ["b", "c"]


def test_an_outside_store_is_read_through_take_and_an_error_stops_the_worker_until_the_next_kick():
    store, errors, handled = [1, 2, 3], [], []

    def take():
        return store[0] if store else None

    def handle(item):
        if item == 2 and not errors:
            raise OSError("disk gone")
        handled.append(store.pop(0))

    queue = BackgroundQueue(_thread, handle, take=take, on_error=errors.append)
    queue.kick()
    wait_until(lambda: errors and not queue.running, 5, what="the worker to stop on the error")
    assert handled == [1] and isinstance(errors[0], OSError)
    queue.kick()
    wait_until(lambda: not store and not queue.running, 5, what="the rest delivered")
    assert handled == [1, 2, 3]
