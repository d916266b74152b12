"""Progress for long decodes and training runs, on any stderr.

On a terminal: a tqdm bar. Otherwise (a log file, a pipe, a batch job) tqdm shows nothing, so
:class:`Progress` prints a plain line every :data:`PLAIN_INTERVAL_SEC` seconds instead, e.g.::

    decode: 120/600 s (20%), 35 s elapsed, ~140 s left
    train epoch 0: 40/300 step (13%), 61 s elapsed, ~396 s left, loss=0.5312

The lines go to ``sys.stderr`` (the stream tqdm uses), never to stdout.
"""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

PLAIN_INTERVAL_SEC = 30.0


class Progress:
    """``update(n)``, ``set_postfix(**kv)``, ``write(msg)``, ``close()`` - a tqdm subset.

    Args:
        total: expected units (None: unknown).
        initial: units already done (a resumed run).
        unit: shown after the counts ("s", "step", "batch").
        desc: line prefix.
        disable: show nothing (``--quiet``, non-main ranks).
        stream: default ``sys.stderr``.
        interval: seconds between plain lines (default :data:`PLAIN_INTERVAL_SEC`).
    """

    def __init__(self, total: float | None, initial: float = 0, unit: str = "", desc: str = "",
                 disable: bool = False, stream: TextIO | None = None,
                 interval: float | None = None):
        self.stream = stream or sys.stderr
        self.total, self.n, self.unit, self.desc = total, initial, unit, desc
        self.disable = disable
        self.interval = PLAIN_INTERVAL_SEC if interval is None else interval
        self.postfix: dict[str, Any] = {}
        self.t0 = self.last = time.monotonic()
        self.start_n = initial
        self.bar = None
        if not disable and _isatty(self.stream):
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=initial, unit=unit, desc=desc, file=self.stream,
                            dynamic_ncols=True)

    def update(self, n: float = 1) -> None:
        self.n += n
        if self.bar is not None:
            self.bar.update(n)
        elif not self.disable and time.monotonic() - self.last >= self.interval:
            self._line()

    def set_postfix(self, **kv: Any) -> None:
        self.postfix.update(kv)
        if self.bar is not None:
            self.bar.set_postfix(**kv)

    def write(self, msg: str) -> None:
        """A message line that does not break the bar."""
        if self.bar is not None:
            self.bar.write(msg, file=self.stream)
        else:
            print(msg, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def line(self) -> str:
        """The plain progress line for the current state."""
        elapsed = time.monotonic() - self.t0
        parts = [f"{self.n:.0f}"]
        if self.total:
            parts[0] += f"/{self.total:.0f} {self.unit} ({100.0 * self.n / self.total:.0f}%)"
        else:
            parts[0] += f" {self.unit}"
        parts.append(f"{elapsed:.0f} s elapsed")
        done = self.n - self.start_n
        if self.total and done > 0:
            parts.append(f"~{elapsed / done * max(self.total - self.n, 0):.0f} s left")
        parts += [f"{k}={v}" for k, v in self.postfix.items()]
        return f"{self.desc}: " + ", ".join(parts)

    def _line(self) -> None:
        self.last = time.monotonic()
        try:
            print(self.line(), file=self.stream, flush=True)
        except (OSError, ValueError):
            self.disable = True  # stderr went away; progress is not worth failing for


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
