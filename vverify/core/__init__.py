"""The emulation core: spec semantics compiled into a fast run loop (see docs/core.md)."""

from .arguments import CoreArgumentError
from .codegen import CoreUnsupported
from .machine import CompiledMap, Core, GuestMemoryError

__all__ = ["CompiledMap", "Core", "CoreArgumentError", "CoreUnsupported", "GuestMemoryError"]
