"""A memo that forgets everything once it is full.

The decoder and the VMMs remember results per input value (an instruction
word, the registers a fetch or a map reads), because guests run the same
code and take the same few control states again and again.  A long fuzz
run still meets ever new values, so each memo is bounded; clearing it all at
the bound keeps a hit a plain dict lookup, with none of an LRU's
bookkeeping.
"""

from __future__ import annotations


class BoundedMemo(dict):
    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def remember(self, key, value):
        """Store ``value`` under ``key`` (after forgetting everything if full) and return it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
