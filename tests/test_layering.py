"""The package's layers, kept: every import between vverify's parts is an allowed edge.

Each part of the package (a subpackage, or a top-level module) may import
only the parts listed for it below, and any *leaf* (the shared contracts:
errors, the bounded memo, the file helpers, the verdict words).  Imports
inside functions count too: a lazy import is still a dependency.  No module
imports another part's private names (``_name``).  docs/architecture.md
explains the layers; change the table and that page together.

Modelled on trio's test_exports.py: the rule is data, the test parses the
package and names the file and line of any edge the table does not allow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vverify"

LEAVES = {"errors", "memo", "files", "vocabulary"}

ALLOWED = {
    # leaves: shared contracts, importing only one another
    "errors": set(),
    "memo": set(),
    "files": set(),
    "vocabulary": set(),
    # the spec layer: loading, the IR, the machine state, the exit type, decoding
    "spec": set(),
    # the backends of the IR, siblings that never import one another
    "formal": {"spec"},
    "interp": {"spec"},
    "core": {"spec"},
    "asm": {"spec"},
    # over the core's exit protocol
    "vmm": {"spec", "core"},
    # verdicts: the solver's answers, witnesses replayed on the interpreter
    "check": {"spec", "formal", "interp"},
    # the guest library: boot stubs assembled, run on the interpreter or a core
    "guests": {"spec", "asm", "interp"},
    # the composition layer: one spec and everything the features build from it
    "context": {"spec", "check", "vmm", "core", "guests", "formal"},
    # features
    "fuzz": {"spec", "interp", "core", "vmm", "asm", "guests", "check", "formal", "context"},
    "bench": {"spec", "core", "vmm", "guests", "check", "asm", "context"},
    "report": {"spec", "check"},
    # faces
    "cli": {"spec", "formal", "interp", "core", "asm", "vmm", "check", "guests", "context", "fuzz", "bench", "report"},
    "pytest_plugin": {"spec", "check", "context", "report"},
    "__main__": {"cli"},
    "__init__": set(),
}


def part_of(module: str) -> str:
    """``vverify.check.run`` -> ``check``; ``vverify`` -> ``__init__``."""
    parts = module.split(".")
    assert parts[0] == "vverify", module
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool):
    """``(line, imported module, imported names)`` of every import in ``source``, made absolute."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target, tuple(a.name for a in node.names)


def violations(files) -> list:
    """Every import edge among ``files`` (``(path, source, module name, is package)``) that the
    table forbids, as ``path:line: message``."""
    out = []
    for path, source, module, is_package in files:
        me = part_of(module)
        allowed = ALLOWED.get(me)
        if allowed is None:
            out.append(f"{path}:1: '{me}' is a part of vverify the layering table does not know")
            continue
        for line, target, names in imports(source, module, is_package):
            if target != "vverify" and not target.startswith("vverify."):
                continue
            if target == "vverify":  # `from vverify import x`: x is a part (or __version__)
                targets = [(f"vverify.{n}", ()) for n in names if not n.startswith("__")]
            else:
                targets = [(target, names)]
            for t, ns in targets:
                other = part_of(t)
                if other == me:
                    continue
                if other not in LEAVES and other not in allowed:
                    out.append(f"{path}:{line}: {me} may not import {other} ({t})")
                elif other in LEAVES and me in LEAVES and other not in ALLOWED[me] and other != "errors":
                    out.append(f"{path}:{line}: the leaf {me} may import only errors, not {other}")
                private = [n for n in ns if n.startswith("_") and not n.startswith("__")]
                if private or any(p.startswith("_") and not p.startswith("__") for p in t.split(".")[2:]):
                    out.append(f"{path}:{line}: {me} imports private names of {other}: "
                               f"{', '.join(private) or t}")
    return out


def package_files(root: Path = PACKAGE):
    for path in sorted(root.rglob("*.py")):
        yield (path.relative_to(root.parent), path.read_text(encoding="utf-8"), module_name(path, root),
               path.name == "__init__.py")


def test_the_package_keeps_its_layers():
    assert violations(package_files()) == []


def test_every_part_of_the_package_is_in_the_table():
    parts = {part_of(m) for _, _, m, _ in package_files()}
    assert parts <= set(ALLOWED), parts - set(ALLOWED)


@pytest.mark.parametrize("where, source, says", [
    ("vverify/core/machine.py", "from ..interp import MachineState\n", "core may not import interp"),
    ("vverify/core/machine.py", "def f():\n    from vverify.cli.main import main\n", "core may not import cli"),
    ("vverify/bench/run.py", "from ..fuzz.equivalence import make_vmm\n", "bench may not import fuzz"),
    ("vverify/pytest_plugin.py", "from .cli.render import claim_failure_text\n", "pytest_plugin may not import cli"),
    ("vverify/fuzz/search.py", "from ..interp.machine import _fetch\n", "fuzz imports private names of interp: _fetch"),
    ("vverify/files.py", "from .spec import loader\n", "files may not import spec"),
])
def test_a_forbidden_edge_is_named_with_its_file_and_line(where, source, says):
    path = Path(where)
    module = module_name(PACKAGE.parent / path, PACKAGE)
    (found,) = violations([(path, source, module, path.name == "__init__.py")])
    line = source[:source.index("import")].count("\n") + 1
    assert found.startswith(f"{where}:{line}: ") and says in found, found


def test_the_faces_load_no_solver_until_they_solve():
    """Rendering a report or starting the CLI loads neither z3 nor numba nor Hypothesis: the verdict
    words live in vverify.vocabulary, not in the classifier (issue 14).  A fresh interpreter, so
    what this test process already imported does not hide an import."""
    import subprocess
    import sys

    code = ("import sys\n"
            "import vverify.cli.main, vverify.report.text, vverify.report.formats, vverify.pytest_plugin\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & {'z3', 'numba', 'hypothesis'})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_each_contract_has_one_home():
    """The exit-protocol slots are defined only in vverify/core/protocol.py, and there is one exit type,
    vverify.spec.exits.Exit: no other module defines a class called ``*Exit`` or assigns ``ST_*``/``R_*``."""
    import ast

    homes = {"ST_": "vverify/core/protocol.py", "R_": "vverify/core/protocol.py"}
    found = []
    for path, source, module, _ in package_files():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Exit") and str(path) != "vverify/spec/exits.py":
                found.append(f"{path}:{node.lineno}: class {node.name}")
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], (ast.Name, ast.Tuple)):
                names = [t.id for t in ast.walk(node.targets[0]) if isinstance(t, ast.Name)]
                for prefix, home in homes.items():
                    if any(n.startswith(prefix) and n.isupper() for n in names) and str(path) != home:
                        found.append(f"{path}:{node.lineno}: assigns {prefix}*")
    assert found == []
