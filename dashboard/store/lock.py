"""One writer at a time, readers never during a write: a lock file beside the database.

``flock`` locks belong to an open file description, so they exclude each other both
between processes (the app and a nightly CLI import) and between threads of one
process (the sessions of one Streamlit server), as long as every holder opens the lock
file itself, which :class:`WorkspaceLock` does.  The kernel drops the lock when its
holder dies, so a killed import never leaves a stale lock behind.

Writers take the lock exclusively, readers shared: DuckDB lets one process open the
database read-write, or several read-only, never both.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType


class WorkspaceBusy(Exception):
    """The workspace stayed locked by another reader or writer for too long."""


class WorkspaceLock:
    """A shared or exclusive lock on ``path``, waited for up to ``timeout`` seconds."""

    def __init__(self, path: Path, exclusive: bool, timeout: float = 30.0, poll: float = 0.05) -> None:
        self.path = path
        self.exclusive = exclusive
        self.timeout = timeout
        self.poll = poll
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        mode = (fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, mode)
                self._fd = fd
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise
            if time.monotonic() >= deadline:
                os.close(fd)
                what = "writing to" if self.exclusive else "reading"
                raise WorkspaceBusy(
                    f"the workspace is busy (another session or an import is using it); "
                    f"gave up {what} it after {self.timeout:g} s: try again"
                )
            time.sleep(self.poll)

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> WorkspaceLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
