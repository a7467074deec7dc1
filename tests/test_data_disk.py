"""The data folder and its disk: unwritable stops the start in words; a full disk is a 507 naming it, losing nothing.

A real read-only or tiny filesystem (tmpfs, mounted when the tests run as root) where one can be had; SQLite's own
size limit (`PRAGMA max_page_count`) otherwise, which fails a write with the same SQLITE_FULL.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway import free_port, run_app
from web.messages import OUTBOX

ROOT = os.geteuid() == 0


@contextlib.contextmanager
def tmpfs(size: str, read_only: bool = False) -> Iterator[Path]:
    """A fresh tmpfs of `size` (root only: skipped otherwise), unmounted and removed at the end."""
    if not ROOT:
        pytest.skip("mounting a small filesystem needs root")
    where = Path(tempfile.mkdtemp(prefix="wa-disk-test-"))
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        where.rmdir()
        pytest.skip(f"tmpfs could not be mounted: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def fill(folder: Path) -> None:
    """Write until the disk says it is full."""
    with open(folder / "ballast", "wb") as fh:
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
                os.fsync(fh.fileno())


def test_an_unwritable_data_folder_stops_the_start_with_words(tmp_path):
    with contextlib.ExitStack() as stack:
        if ROOT:
            data = stack.enter_context(tmpfs("1m", read_only=True))
        else:
            data = tmp_path / "data"
            data.mkdir(mode=0o500)
        done = run_app(WA_DATA_DIR=str(data), WA_PROFILE_DIR=str(tmp_path / "home" / "profile"), PORT=str(free_port()),
                       HOME=str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert f"the data folder {data} cannot be written" in done.stderr
    assert "WA_DATA_DIR" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "home" / "profile").exists()  # nothing was started


def test_a_full_disk_is_507_naming_it_and_what_was_accepted_is_kept(gateway_factory):
    with tmpfs("512k") as data:
        gateway = gateway_factory(WA_DATA_DIR=str(data))
        accepted = [gateway.post("/messages", json={"phone": "+5511999990000", "text": f"Lembrete {i}"})
                    for i in range(3)]
        assert [r.status_code for r in accepted] == [202] * 3
        fill(data)
        refused = gateway.post("/messages", json={"phone": "+5511999990000", "text": "one too many"})
        assert refused.status_code == 507, refused.text
        assert f"disk that holds the gateway's data folder ({data})" in refused.json()["error"]
        kept = gateway.get("/messages", params={"direction": "out"}).json()["messages"]
        assert [m["id"] for m in kept] == [r.json()["id"] for r in accepted]
        (data / "ballast").unlink()
        assert gateway.post("/messages", json={"phone": "+5511999990000", "text": "room again"}).status_code == 202
        assert gateway.stop(check=True) == 0


def test_the_size_limit_of_the_file_is_a_full_disk_too(app_factory, tmp_path):
    app = app_factory(data_dir=str(tmp_path / "data"))
    http = app.test_client()
    assert http.post("/messages", json={"phone": "+5511999990000", "text": "first"}).status_code == 202
    store = app.extensions[OUTBOX].store
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    codes, ids = [], []
    for i in range(300):  # until a page more is needed
        answer = http.post("/messages", json={"phone": "+5511999990000", "text": f"Lembrete {i} " + "x" * 200})
        codes.append(answer.status_code)
        if answer.status_code != 202:
            break
        ids.append(answer.get_json()["id"])
    assert codes[-1] == 507 and set(codes[:-1]) <= {202}
    assert "is full" in answer.get_json()["error"] and str(tmp_path / "data") in answer.get_json()["error"]
    listed = http.get("/messages?direction=out&limit=500").get_json()["messages"]
    assert [m["id"] for m in listed][1:] == ids
