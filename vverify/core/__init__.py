"""The emulation core: spec semantics compiled into a fast run loop (see docs/core.md)."""

from .codegen import CoreUnsupported
from .machine import Core, CoreExit, GuestMemoryError

__all__ = ["Core", "CoreExit", "CoreUnsupported", "GuestMemoryError"]
