"""The project's one atomic-write helper: a file appears complete or not at all.

Semantics (every writer in ``jrsv/`` and ``dtssvd/`` goes through here):

* the data goes to a temp file in the target's directory named
  ``NAME.<pid>.<random>.tmp[SUFFIX]`` (unique per process and call, so two writers of the
  same name never share a temp file; ``SUFFIX`` keeps an extension that a writer such as
  ``np.save`` or matplotlib needs);
* on success the temp file is fsynced, moved onto ``NAME`` with ``os.replace`` (the last
  writer wins, readers never see a partial file) and the directory is fsynced;
* on any failure (exception, ``KeyboardInterrupt``, ``SystemExit``) the temp file is removed;
  :func:`install_signal_handlers` turns SIGTERM/SIGHUP into ``SystemExit`` so the same cleanup
  runs, and an ``atexit`` hook removes temp files still open at exit. Only SIGKILL can leave a
  temp file; :func:`stale_temps` finds those of dead processes.

    from jrsv.atomic import atomic_path, atomic_write_text
    atomic_write_text("out/a.json", text)
    with atomic_path("model.pt") as tmp:
        torch.save(state, tmp)
"""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import re
import secrets
import signal
import sys
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]

_LIVE: set[str] = set()   # temp files of this process not yet committed or removed
TEMP_RE = re.compile(r"^(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp(?:\.[A-Za-z0-9]+)?$")


def temp_name(path: PathLike, suffix: str = "") -> Path:
    """``DIR/NAME.<pid>.<8 hex>.tmp<suffix>`` next to ``path``."""
    path = Path(path)
    return path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp{suffix}")


def _fsync_path(path: PathLike, directory: bool = False) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # e.g. directories on some file systems
    finally:
        os.close(fd)


def _remove(tmp: PathLike) -> None:
    _LIVE.discard(str(tmp))
    with contextlib.suppress(FileNotFoundError):
        os.remove(tmp)


class AtomicTarget:
    """A temp file for ``path``; :meth:`commit` moves it into place, :meth:`discard` removes it.

    For writers that stay open across calls (stems written block by block); otherwise use
    :func:`atomic_path`.
    """

    def __init__(self, path: PathLike, suffix: str = "", mkdir: bool = True):
        self.path = Path(path)
        if mkdir:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = temp_name(self.path, suffix)
        _LIVE.add(str(self.tmp))
        self.done = False

    def commit(self) -> Path:
        """fsync the temp file, ``os.replace`` it onto the target, fsync the directory."""
        if self.done:
            raise RuntimeError(f"{self.path}: already committed or discarded")
        try:
            _fsync_path(self.tmp)
            os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        self.done = True
        _LIVE.discard(str(self.tmp))
        _fsync_path(self.path.parent, directory=True)
        return self.path

    def discard(self) -> None:
        """Remove the temp file (no error if it was never created)."""
        self.done = True
        _remove(self.tmp)


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str = "", mkdir: bool = True) -> Iterator[Path]:
    """Yields a temp path to write; committed onto ``path`` on a normal exit, removed on any
    exception (the exception propagates)."""
    target = AtomicTarget(path, suffix, mkdir)
    try:
        yield target.tmp
    except BaseException:
        target.discard()
        raise
    target.commit()


def publish_dir(tmp_dir: PathLike, target: PathLike) -> Path:
    """Move a finished directory ``tmp_dir`` (same file system) onto ``target``, replacing an older
    one: readers see the old or the new directory, never a half-written one."""
    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp_dir, target)
    _fsync_path(target.parent, directory=True)
    return target


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``Path(path)``."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(path)


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``Path(path)``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def stale_temps(directory: PathLike) -> list[Path]:
    """Temp files in ``directory`` left by processes that no longer run (SIGKILL, power loss)."""
    out = []
    for p in Path(directory).iterdir():
        m = TEMP_RE.match(p.name)
        if m and not _alive(int(m["pid"])):
            out.append(p)
    return sorted(out)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@atexit.register
def _cleanup_at_exit() -> None:
    for tmp in list(_LIVE):
        _remove(tmp)


def _raise_exit(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    raise SystemExit(128 + signum)


def install_signal_handlers() -> dict:
    """SIGTERM and SIGHUP raise ``SystemExit(128 + signum)`` in the main thread, so ``finally``
    blocks and :func:`atomic_path` remove partial files (SIGINT already raises
    ``KeyboardInterrupt``). For command-line entry points; returns the previous handlers for
    :func:`restore_signal_handlers`."""
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                previous[sig] = signal.signal(sig, _raise_exit)
    return previous


def restore_signal_handlers(previous: dict) -> None:
    """Undo :func:`install_signal_handlers` (commands run in-process, e.g. from tests)."""
    for sig, handler in previous.items():
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def quiet_broken_pipe() -> None:
    """After a ``BrokenPipeError`` on stdout (``jrsv ... | head``): point stdout at devnull so
    the interpreter's final flush does not print a second error."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
