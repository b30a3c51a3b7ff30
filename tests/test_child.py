"""Child processes die with their parent (rag/core/child.py): kill -9 and SIGTERM of the parent, a child
started from a thread that has since ended, a child that ignores SIGTERM. Real processes, no model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.core import child
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]

#: A parent that starts ``sleep`` from a worker thread, lets that thread end, then waits to be killed.
PARENT = """
import sys, threading
from rag.core import child
box = []
worker = threading.Thread(target=lambda: box.append(child.spawn(["sleep", "300"], sys.stderr.buffer)))
worker.start(); worker.join()
print(box[0].pid, flush=True)
threading.Event().wait()
"""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def start_parent() -> tuple[subprocess.Popen[str], int]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = parent.stdout.readline() if parent.stdout else ""
    assert line.strip().isdigit(), "the parent did not start its child"
    return parent, int(line)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_the_child_dies_with_its_parent_even_after_the_thread_that_started_it_ended(sig):
    parent, pid = start_parent()
    try:
        assert alive(pid), "the child must outlive the short-lived thread that started it"
        parent.send_signal(sig)
        parent.wait(timeout=30)
        wait_until(lambda: not alive(pid), timeout=10, what=f"the child to die after the parent got {sig.name}")
    finally:
        if parent.poll() is None:
            parent.kill()
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path):
    ignore = "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); signal.pause()"
    with open(tmp_path / "log", "wb") as log:
        process = child.spawn([sys.executable, "-c", ignore], log)
    wait_until(lambda: b"ready" in (tmp_path / "log").read_bytes(), what="the child to ignore SIGTERM")
    started = time.monotonic()
    child.stop(process, grace=0.5)
    assert process.returncode == -signal.SIGKILL and time.monotonic() - started < 10
    assert not alive(process.pid)
