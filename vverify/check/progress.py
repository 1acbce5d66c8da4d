"""What a check tells whoever watches it, as it goes: how many units there are, which are being solved,
which are decided.

A check of a big spec can run for minutes; a face (the CLI's progress bar)
shows how far it is.  The check knows nothing of terminals: it calls these
methods, and the base class, which ignores them, is what a check gets when
nobody watches.  Calls come from the thread that runs the check, in order:
``begin``, then ``running`` and ``decided`` as units start and end (with
``-j N``, as the workers report them), then ``end``, whether the check
finished or was stopped.
"""

from __future__ import annotations


class Progress:
    """A check's progress, ignored: subclass it to show it."""

    def begin(self, spec: str, total: int, cached: int) -> None:
        """The check of ``spec`` has ``total`` units, ``cached`` of them decided already (proof cache)."""

    def running(self, units: list) -> None:
        """The units being solved now (their ids), in the order they started."""

    def decided(self, unit: str, seconds: float) -> None:
        """Unit ``unit`` is decided, its questions having taken ``seconds`` of solver time."""

    def end(self) -> None:
        """The check is over (done, failed or stopped): nothing more will be reported."""


QUIET = Progress()
