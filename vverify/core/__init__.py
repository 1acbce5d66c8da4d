"""The emulation core: spec semantics compiled into a fast run loop (see docs/core.md)."""

from .codegen import CoreUnsupported
from .machine import CompiledMap, Core, GuestMemoryError

__all__ = ["CompiledMap", "Core", "CoreUnsupported", "GuestMemoryError"]
