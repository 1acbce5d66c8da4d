"""The emulation core: spec semantics compiled into a fast run loop (see docs/core.md)."""

from .arguments import CoreArgumentError
from .codegen import CoreUnsupported
from .machine import Core, CoreExit, GuestMemoryError

__all__ = ["Core", "CoreArgumentError", "CoreExit", "CoreUnsupported", "GuestMemoryError"]
