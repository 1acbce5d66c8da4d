"""Compiled closures cached on disk: a factory's numba closures re-homed in a generated module.

The VMMs build their compiled loops per spec as closures (a factory such as
``vverify.vmm.trap_emulate_loop.make_loop`` binds the spec's layout constants
and the core's kernels, then decorates its inner functions).  numba caches a
closure on disk only under a key that includes its pickled closure cells,
and a cell holding another compiled function pickles with a fresh random id
in every process: the cache never hits, and every process (each benchmark
worker, each test worker, each fuzz run) compiled every loop of every spec
again, seconds apiece.

:func:`cached` writes the closures' own source into a module of its own in
the core's cache directory, with each closure cell as a module constant
(numbers and arrays written out, compiled functions imported), and imports
it with ``cache=True``.  The module is named by a digest of that source, of
the packages the closures come from and of vverify's spec and core code
(``machine._generated``), so any change to what it was made from makes a new
one rather than reusing a stale compilation.  Anything it cannot write out
leaves the closures as they were: slower to start, never different.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import sys
import textwrap
import types
from pathlib import Path

import numpy as np

_DECORATOR = re.compile(r"^@njit(?:\((.*)\))?\s*$")


class _Unwritable(Exception):
    """A closure cell or a decorator this module cannot write out as source."""


def cached(spec, kind: str, top):
    """The compiled function ``top`` (a numba dispatcher made in a factory) and the closures it
    calls, compiled from a generated module that numba caches on disk; ``top`` itself where that
    cannot be done (numba off, a cell that cannot be written out)."""
    if not hasattr(top, "py_func"):  # numba off: plain Python closures
        return top
    try:
        source = _module_source(spec, kind, top)
    except _Unwritable:
        return top
    from .machine import _generated

    module = _generated(spec, kind, lambda: source, True)
    return getattr(module, top.py_func.__name__)


def _is_local(d) -> bool:
    return hasattr(d, "py_func") and "<locals>" in d.py_func.__qualname__


def _closures(top) -> list:
    """``top`` and every closure it reaches through its cells, callees first."""
    seen, order = {}, []

    def visit(d):
        if id(d) in seen:
            return
        seen[id(d)] = d
        f = d.py_func
        for cell in f.__closure__ or ():
            v = cell.cell_contents
            if _is_local(v):
                visit(v)
        order.append(d)

    visit(top)
    return order


def _globals_used(code) -> set:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _globals_used(c)
    return names


def _literal(v) -> str:
    if v is None or isinstance(v, (bool, int)):
        return repr(v)
    if isinstance(v, np.generic) and isinstance(v, (np.integer, np.bool_)):
        return f"np.{type(v).__name__}({int(v)})"
    if isinstance(v, np.ndarray) and v.dtype.kind in "iub":
        return f"np.array({v.ravel().tolist()!r}, dtype=np.{v.dtype.name}).reshape({v.shape!r})"
    if isinstance(v, type) and issubclass(v, np.generic):
        return f"np.{v.__name__}"
    if isinstance(v, tuple) and all(isinstance(x, (bool, int)) for x in v):
        return repr(v)
    raise _Unwritable(type(v).__name__)


def _decorated(f) -> str:
    src = textwrap.dedent(inspect.getsource(f))
    lines = src.splitlines()
    m = _DECORATOR.match(lines[0])
    if m is None or not lines[1].startswith("def "):
        raise _Unwritable("a decorator other than @njit")
    args = m.group(1)
    lines[0] = f"@njit(cache=True{', ' + args if args else ''})"
    return "\n".join(lines)


def _package_digest(module_name: str) -> str:
    """The source of every module beside ``module_name``: the compiled closures call their
    neighbours (numba's cache would not see a change there)."""
    h = hashlib.sha256()
    for p in sorted(Path(sys.modules[module_name].__file__).resolve().parent.glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:20]


def _module_source(spec, kind: str, top) -> str:
    closures = _closures(top)
    defined = {d.py_func.__name__: d for d in closures}
    constants, imports, aliases = {}, {}, {}
    global_names: dict = {}  # name -> the module it is imported from
    for d in closures:
        f = d.py_func
        for name in _globals_used(f.__code__) & set(f.__globals__):
            # closures of several modules (a loop and the shared pieces it inlines) share one namespace here
            if global_names.setdefault(name, f.__module__) != f.__module__ and \
                    f.__globals__[name] is not sys.modules[global_names[name]].__dict__.get(name):
                raise _Unwritable(f"two globals named {name}")
        for name, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
            v = cell.cell_contents
            if _is_local(v):
                if defined.get(v.py_func.__name__) is not v:
                    raise _Unwritable("two closures of one name")
                if name != v.py_func.__name__:
                    aliases[name] = v.py_func.__name__
            elif hasattr(v, "py_func"):  # a module-level compiled function: imported
                imports[name] = (v.py_func.__module__, v.py_func.__qualname__)
            else:
                constants[name] = _literal(v)
    taken = set(constants) | set(imports) | set(aliases) | set(defined)
    if taken & global_names.keys():
        raise _Unwritable("a cell named as a global")
    modules = sorted({d.py_func.__module__ for d in closures})
    L = [f'"""{kind} for spec {spec.name}: the closures of {", ".join(modules)}, re-homed by',
         'vverify.core.closures so that numba caches them on disk.  Generated: do not edit."""']
    packages = {m.rpartition(".")[0]: m for m in modules}  # one module of each package stands for it
    L.extend(f"# {p}: {_package_digest(m)}" for p, m in sorted(packages.items()))
    L += ["import numpy as np", "from vverify.core.jit import njit"]
    for m in modules:
        names = sorted(n for n, home_of in global_names.items() if home_of == m)
        if names:
            L.append(f"from {m} import {', '.join(names)}")
    for name, (mod, qual) in sorted(imports.items()):
        L.append(f"from {mod} import {qual} as {name}")
    L.append("")
    L.extend(f"{name} = {value}" for name, value in sorted(constants.items()))
    for d in closures:
        L.extend(["", "", _decorated(d.py_func)])
    L.append("")
    L.extend(f"{name} = {target}" for name, target in sorted(aliases.items()))
    return "\n".join(L) + "\n"


__all__ = ["cached"]
