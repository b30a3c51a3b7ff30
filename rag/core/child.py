"""Child processes that live and die with this one (the bundled model server).

A child started with :func:`spawn` gets its own process group (a terminal's Ctrl-C reaches only
us, and we stop it) and, on Linux, ``PR_SET_PDEATHSIG``: the kernel sends it SIGTERM when we die,
even by ``kill -9``. The death signal is tied to the *thread* that forked, not the process, so the
child is forked by a keeper thread that lives exactly as long as the child — a server started
lazily from a short-lived worker thread survives that thread, and dies with the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import IO

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, looked up now: after a fork only the call itself may run."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None


_prctl = _load_prctl()


def _die_with_parent(parent: int) -> None:
    """Runs in the child between fork and exec."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def spawn(command: Sequence[str], log: IO[bytes], env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``command`` (output to ``log``; environment ``env``, else ours) so that it ends when this
    process does."""
    parent = os.getpid()
    started: queue.Queue[subprocess.Popen[bytes] | BaseException] = queue.Queue()

    def keep() -> None:
        try:
            process = subprocess.Popen(
                list(command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=None if env is None else dict(env),
                start_new_session=True,
                preexec_fn=lambda: _die_with_parent(parent),  # noqa: PLW1509 - only prctl and getppid run there
            )
        except BaseException as exc:  # handed to the caller
            started.put(exc)
            return
        started.put(process)
        process.wait()  # this thread's life is the child's: the death signal stays armed

    threading.Thread(target=keep, name=f"keeper-{os.path.basename(command[0])}", daemon=True).start()
    result = started.get()
    if isinstance(result, BaseException):
        raise result
    return result


def stop(process: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM to the child's process group, SIGKILL after ``grace`` seconds; returns once it is reaped."""
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        logger.warning("pid %d did not stop within %.0fs: killing it", process.pid, grace)
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=grace)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)  # its own group (start_new_session): the pid is the group id
    except (ProcessLookupError, PermissionError):
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            pass
