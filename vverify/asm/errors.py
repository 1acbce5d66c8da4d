"""The assembler's error: one line, ``file:line:col: message``."""

from __future__ import annotations

from ..errors import VVerifyError


class AsmError(VVerifyError):
    """A problem in assembly source (or in placing a program in memory).

    ``line`` and ``col`` are 1-based; 0 means "no position" and is left out
    of the message.  ``str(error)`` is always a single line.
    """

    def __init__(self, message: str, line: int = 0, col: int = 0, file: str = "<asm>"):
        self.file = str(file)
        self.line = int(line or 0)
        self.col = int(col or 0)
        self.message = " ".join(str(message).split())
        super().__init__(self.one_line())

    def one_line(self) -> str:
        loc = self.file
        if self.line:
            loc += f":{self.line}"
            if self.col:
                loc += f":{self.col}"
        return f"{loc}: {self.message}"
