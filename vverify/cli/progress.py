"""The progress bar of ``vverify check`` on a terminal: units decided of all, the time so far, the
units being solved.

One line on stderr, redrawn in place (a carriage return, then the line,
then "erase to the end of the line") as units are decided and every
``interval`` seconds, so the clock moves even while one unit takes
minutes; erased when the check ends, before its report is printed.  The CLI
uses it only when a person is watching (see :func:`wanted`): never in a
pipe, a file or a CI log, nor with a machine format.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

from ..check.progress import Progress

# Held while a line is written.  A fork (the solver pool starting its workers) waits for it, so no
# worker is born holding the lock of the stream the bar was writing to.
_DRAWING = threading.Lock()
os.register_at_fork(before=_DRAWING.acquire, after_in_parent=_DRAWING.release,
                    after_in_child=_DRAWING.release)


def wanted(fmt: str, to_file: bool, stdout, stderr, environ=os.environ) -> bool:
    """Show a bar for a text report read on a terminal: stderr is one, and so is stdout unless the
    report goes to a file (``-o``); not for ``TERM=dumb``."""
    if fmt != "text" or environ.get("TERM") == "dumb":
        return False
    try:
        return stderr.isatty() and (to_file or stdout.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour)."""
    s = int(seconds)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


class TerminalBar(Progress):
    """``pg74  [#######.......]  6/14 units (2 cached)  0:03  solving: ldm, stm`` on ``stream``."""

    WIDTH = 20  # characters of the bar itself

    def __init__(self, stream, interval: float = 0.5, now=time.monotonic):
        self.stream, self.interval, self.now = stream, interval, now
        self.spec, self.total, self.cached, self.done, self.solving = "", 0, 0, 0, []
        self.t0 = now()
        self._stop = threading.Event()
        self._ticker = None
        self._state = threading.Lock()  # the main thread updates, the ticker reads

    def begin(self, spec, total, cached):
        with self._state:
            self.spec, self.total, self.cached, self.done, self.solving = spec, total, cached, cached, []
            self.t0 = self.now()
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, name="vverify-progress", daemon=True)
        self._ticker.start()
        self.draw()

    def running(self, units):
        with self._state:
            self.solving = list(units)
        self.draw()

    def decided(self, unit, seconds):
        with self._state:
            self.done += 1
            self.solving = [u for u in self.solving if u != unit]
        self.draw()

    def end(self):
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        self._write("\r\x1b[K")

    def _tick(self):
        while not self._stop.wait(self.interval):
            self.draw()

    def line(self) -> str:
        with self._state:
            spec, total, cached, done, solving = self.spec, self.total, self.cached, self.done, list(self.solving)
            elapsed = self.now() - self.t0
        filled = self.WIDTH * done // total if total else self.WIDTH
        text = (f"{spec}  [{'#' * filled}{'.' * (self.WIDTH - filled)}]  {done}/{total} units"
                + (f" ({cached} cached)" if cached else "") + f"  {clock(elapsed)}")
        if solving:
            text += f"  solving: {', '.join(solving)}"
        return text

    def draw(self):
        width = self.columns() - 1  # writing the last column wraps the line on some terminals
        text = self.line()
        if len(text) > width:
            text = text[:max(width - 3, 0)] + "..."
        self._write("\r" + text + "\x1b[K")

    def columns(self) -> int:
        """The width of the bar's terminal (not stdout's: the report may go to a file)."""
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (AttributeError, OSError, ValueError):
            return shutil.get_terminal_size((80, 24)).columns

    def _write(self, text):
        with _DRAWING:
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # the terminal went away: the check goes on without its bar
                pass
