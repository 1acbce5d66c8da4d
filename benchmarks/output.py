"""Let a pyperf script's ``-o FILE`` replace an earlier result, and only once the run is complete.

pyperf refuses to write over an existing ``-o`` file, so the commands that
regenerate ``results/`` would fail on a checkout that already has them.
Called before ``pyperf.Runner`` is made, :func:`replace_on_success` points
``-o`` at a scratch file beside the target and moves it over the target when
the process exits having written it: an interrupted run leaves the old result
in place, never a half-written one.
"""

from __future__ import annotations

import atexit
import os
import sys


def replace_on_success(argv=sys.argv):
    if "--worker" in argv:  # pyperf's worker processes do not write the output
        return
    for flag in ("-o", "--output"):
        if flag in argv[:-1]:
            i = argv.index(flag) + 1
            target = argv[i]
            scratch = f"{target}.partial"
            if os.path.exists(scratch):
                os.remove(scratch)
            argv[i] = scratch
            atexit.register(lambda: os.path.exists(scratch) and os.replace(scratch, target))
            return
