"""Logging for the ``jrsv`` programs, configured in one place.

The library only logs (``logging.getLogger(__name__)``) and never configures logging or prints to
stderr (``tests/test_no_stderr_print.py``). A program configures it once with
:func:`setup_logging`: :func:`jrsv.bin.main.main` does it for every command before the command
runs, and the programs that are also run as ``python -m jrsv.bin.X`` call it again at their
start (it is idempotent; a second call only changes the name and the level). Records go to the
current ``sys.stderr``, one line each::

    jrsv train: resumed from step 400 (exp/asr/step_400.pt)
    jrsv decode: warning: a.wav: truncated or corrupt after 3.0 s; decoded that part

Like :func:`logging.basicConfig`, it leaves a root logger alone that already has handlers of
someone else (an embedding application; pytest's log capture).
"""
from __future__ import annotations

import logging
import sys

__all__ = ["setup_logging"]


class _Format(logging.Formatter):
    """``PROG: message``; ``PROG: warning: message`` (and ``error:``) for WARNING and above."""

    def __init__(self, prog: str):
        super().__init__()
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        msg = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"{self.prog}: {record.levelname.lower()}: {msg}"
        return f"{self.prog}: {msg}"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (it may be replaced)."""

    jrsv_cli = True

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.__init__ assigns it
        pass

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # stderr went away (a closed pipe): a log line is not worth failing for


def setup_logging(prog: str, level: int | str = logging.INFO) -> None:
    """Send log records at ``level`` and above to stderr as ``PROG: ...`` lines.

    Args:
        prog: the program's name as the user typed it (``"jrsv decode"``).
        level: a :mod:`logging` level or its name (``"warning"``).
    """
    if isinstance(level, str):
        number = logging.getLevelName(level.upper())
        if not isinstance(number, int):
            raise ValueError(f"unknown log level {level!r}")
        level = number
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "jrsv_cli", False)]
    if root.handlers and not ours:
        return
    handler = ours[0] if ours else _StderrHandler()
    handler.setFormatter(_Format(prog))
    if not ours:
        root.addHandler(handler)
    root.setLevel(level)
