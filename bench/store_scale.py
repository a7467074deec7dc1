"""A store of 100,000 messages: POST /messages and the sender's pick within 10 ms, the queued listing within 50 ms.

The outbox file is filled directly (a clinic's months of reminders: most read, some failed or cancelled, a few
thousand scheduled ahead), then `python app.py` runs on it with no WhatsApp session, so nothing is sent and only
the store's work is timed. Alone: `python -m bench.store_scale` (no Chromium needed).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.report import Row, verdict
from tests.gateway import Gateway
from wa_client.messaging.schedule import Schedule
from wa_client.messaging.store import OutboxStore

MESSAGES = 100_000
QUEUED_SHARE = 0.05  # waiting, scheduled ahead: the pick must skip them all through its index
POSTS = 300
PICKS = 300
LISTINGS = 60
POST_TARGET_MS = 10.0
PICK_TARGET_MS = 10.0
LIST_TARGET_MS = 50.0
SETTLED = ("read", "read", "read", "delivered", "sent", "failed", "cancelled")


def fill(path: Path, count: int = MESSAGES, seed: int = 24) -> None:
    """Write `count` outgoing messages (and as many replies) into a new outbox file at `path`."""
    OutboxStore(path).close()  # the schema, with every migration
    rng = random.Random(seed)
    now = time.time()
    start = now - 180 * 86400
    rows, replies = [], []
    for n in range(count):
        at = start + n * (180 * 86400 / count)
        phone = f"55119{rng.randrange(10**8):08d}"
        queued = rng.random() < QUEUED_SHARE
        status = "queued" if queued else rng.choice(SETTLED)
        send_at = now + rng.uniform(3600, 20 * 86400) if queued else None
        sent = at + 5 if status in ("sent", "delivered", "read") else None
        rows.append((uuid.uuid4().hex, phone, f"lembrete {n}", status, at, send_at, send_at or at, sent,
                     f"true_{phone}@c.us_3EB0{n:016X}" if sent else None, f"{phone}@c.us" if sent else None))
        if sent and rng.random() < 0.3:
            replies.append((f"false_{phone}@c.us_IN{n:016X}", "+" + phone, f"{phone}@c.us", "ok", sent + 60, "chat",
                            sent + 60))
    db = sqlite3.connect(path)
    with db:
        db.executemany("INSERT INTO outgoing (id, phone, text, status, queued_at, send_at, due_at, sent_at, wa_id, "
                       "to_jid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO incoming (id, from_phone, from_jid, text, time, kind, received_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", replies)
    db.execute("ANALYZE")
    db.close()


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def measure(wa_url: str) -> dict[str, float]:
    """Fill a store, time the pick in-process and POST/GET through a real gateway on it; figures in ms."""
    home = Path(tempfile.mkdtemp(prefix="wa-bench-store-"))
    try:
        path = home / "outbox.sqlite3"
        fill(path)
        schedule = Schedule(path)
        picks = []
        for _ in range(PICKS):
            began = time.perf_counter()
            schedule.next_due(time.time())
            picks.append((time.perf_counter() - began) * 1000)
        schedule.close()
        gateway = Gateway.start(wa_url, name="bench-store", WA_DATA_DIR=str(home))
        try:
            posts, listings = [], []
            for n in range(POSTS):
                began = time.perf_counter()
                answer = gateway.post("/messages", json={"phone": f"+55 11 9{n:08d}", "text": f"bench {n}"})
                posts.append((time.perf_counter() - began) * 1000)
                answer.raise_for_status()
            for _ in range(LISTINGS):
                began = time.perf_counter()
                gateway.get("/messages?direction=out&status=queued&limit=100").raise_for_status()
                listings.append((time.perf_counter() - began) * 1000)
        finally:
            gateway.stop(check=False)
        return {"post_p99_ms": _p99(posts), "pick_p99_ms": _p99(picks), "queued_list_p99_ms": _p99(listings),
                "post_median_ms": statistics.median(posts), "pick_median_ms": statistics.median(picks),
                "queued_list_median_ms": statistics.median(listings)}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def rows(figures: dict[str, float]) -> list[Row]:
    """The table rows of this scenario."""
    made = []
    for key, what, target in (
            ("post_p99_ms", f"store of {MESSAGES:,} messages: POST /messages p99 ({POSTS} posts)", POST_TARGET_MS),
            ("pick_p99_ms", f"store of {MESSAGES:,}: the sender's pick of the next message p99", PICK_TARGET_MS),
            ("queued_list_p99_ms", f"store of {MESSAGES:,}: GET /messages?status=queued p99", LIST_TARGET_MS)):
        value = figures.get(key, float("nan"))
        middle = figures.get(key.replace("p99", "median"), float("nan"))
        made.append(Row(what, f"{value:.1f} ms (median {middle:.1f})", 1, "-", f"<= {target:.0f} ms",
                        verdict(value <= target)))
    return made


if __name__ == "__main__":
    from bench.report import text_table
    from tests.sim import Simulator

    with Simulator.start(fast=True) as sim:
        print(text_table(rows(measure(sim.url))))
