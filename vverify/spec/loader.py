"""Load a spec file into a checked :class:`~vverify.spec.model.Spec`.

The file is TOML read with :mod:`tomllib`, validated against the JSON Schema
that ships beside this module, then checked for everything a schema cannot
say (names, widths, encodings, semantics).  Every failure is a
:class:`~vverify.errors.SpecError` naming the file, the part and the line.
Loading never executes any of the spec's text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import SpecError
from ..vocabulary import PROPERTIES
from . import ir, limits, semantics
from .encoding import EncodingError, parse_encoding
from .locate import Locator
from .model import (Bank, Cause, Deadline, Device, GuestABI, InstructionClaim, Memory, MmuMap, OperandDecl, PureExpr,
                    RegFile, Register, Spec, Paravirt, TheoremClaim, Time, Instruction, VirtualizationMap)
from .ir import mask
from .overlaps import first_overlap

_CLAIM_PROPS = PROPERTIES
# Names become Python identifiers in generated code: checked with fullmatch, since `$` also
# matches before a final newline ("big\n" would pass a ^...$ match).
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ISA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")  # the schema's pattern, checked whole
_SELECTOR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]{1,4})(?::([0-9]{1,4}))?\])?")  # a banked register's `by`


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema for spec files (also published for editors)."""
    return json.loads(resources.files("vverify.spec").joinpath("spec.schema.json").read_text())


@lru_cache(maxsize=1)
def _validator():
    """A validator for :func:`schema` whose integers are integers.

    JSON Schema counts ``16.0`` as an integer (a number with no fractional
    part), but a TOML float where a width, count or value goes is a mistake
    that the rest of the loader would trip over: so here a float never
    passes ``"type": "integer"``, wherever the schema says it.
    """
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, v: isinstance(v, int) and not isinstance(v, bool))
    return jsonschema.validators.extend(base, type_checker=checker)(schema())


VERDICT_FREE = ("claims", "references")
"""Top-level tables no verdict depends on: what the author expects, and the sources cited for it."""


def _verdict_digest(sources) -> str:
    """A digest of every source's content but its VERDICT_FREE tables, in order, with its name.

    From a fresh parse of the very text that was loaded (the loader's own data
    is merged across ``extends``), canonically serialized: any change to
    anything else, the semantics above all, changes it; a claim's edit does not.
    """
    h = hashlib.sha256()
    for src in sources:
        data = {k: v for k, v in tomllib.loads(src.text).items() if k not in VERDICT_FREE}
        h.update(str(src.path.name).encode() + b"\0")
        h.update(json.dumps(data, sort_keys=True, separators=(",", ":"), default=repr).encode() + b"\0")
    return h.hexdigest()


class _Source:
    """One file of a spec: its text, parsed data and line locator.

    ``raw`` is the file's bytes when the caller already holds them (see
    :func:`load_spec`'s ``texts``); otherwise the file is read here.
    """

    def __init__(self, path: Path, raw: bytes | None = None):
        self.path = path
        self.raw = _read_spec_file(path) if raw is None else raw
        if len(self.raw) > limits.MAX_SPEC_BYTES:
            raise SpecError(path, 0, "", _TOO_BIG)
        try:
            self.text = self.raw.decode("utf-8-sig")  # an editor's byte-order mark is not TOML
        except UnicodeDecodeError as e:
            raise SpecError(path, 0, "", f"not UTF-8 text ({e.reason})") from None
        try:
            self.data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as e:
            m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
            line = int(m.group(1)) if m else 0
            if "(at end of document)" in str(e):
                # the string left open, or else the last line
                line = Locator(self.text).unclosed if "Unterminated string" in str(e) else 0
                line = line or len(self.text.rstrip().split("\n"))
            msg = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(e))
            raise SpecError(path, line, "", f"malformed TOML: {msg}") from None
        except ValueError:  # an integer too long for int() (Python's digit limit)
            m = re.search(r"[0-9_]{4000,}", self.text)
            line = self.text.count("\n", 0, m.start()) + 1 if m else 0
            raise SpecError(path, line, "", "malformed TOML: a number has too many digits") from None
        self.loc = Locator(self.text)
        self._check_integer_sizes()
        self._validate()
        name = self.data["isa"]["name"]
        if not _ISA_NAME.fullmatch(name):  # the schema's pattern ends in `$`, which lets "name\n" through
            raise SpecError(path, self.loc.line(("isa", "name")), "isa", f"{name!r} is not a valid spec name")

    def _check_integer_sizes(self):
        """Refuse an integer wider than any bit-vector, before a message could quote it.

        TOML's hexadecimal integers have no digit limit, and Python refuses to
        print an integer of more than 4,300 decimal digits (the schema's
        messages would), so this runs before validation.
        """
        found = []
        stack = [((), self.data)]
        while stack:  # not recursive: TOML may nest arrays deeply
            path, v = stack.pop()
            if isinstance(v, dict):
                stack.extend((path + (k,), x) for k, x in v.items())
            elif isinstance(v, list):
                stack.extend((path + (i,), x) for i, x in enumerate(v))
            elif isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > limits.MAX_LITERAL_BITS:
                found.append((self.loc.line(path), path, v.bit_length()))
        if found:
            line, path, bits = min(found, key=lambda f: f[0])
            raise SpecError(self.path, line, _where_of(path),
                            f"{'.'.join(map(str, path))}: an integer of {bits} bits; no integer in a spec may be wider "
                            f"than {limits.MAX_LITERAL_BITS} bits")

    def _validate(self):
        validator = _validator()
        errors = sorted(validator.iter_errors(self.data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
        if not errors:
            return
        err = errors[0]
        if err.validator == "oneOf" and isinstance(err.instance, (dict, list)):
            # a table (or list) where a value or a table (or list) may go: say what is wrong inside it
            sub = [e for e in err.context if e.relative_path or e.validator != "type"]
            if sub:
                err = sub[0]
        path = tuple(err.absolute_path)
        key = path
        if err.validator == "additionalProperties":
            known = err.schema.get("properties", {})
            extra = [k for k in err.instance if k not in known] if isinstance(err.instance, dict) else []
            if extra:
                key = path + (extra[0],)
            where = ".".join(map(str, path)) or "top level"
            raise SpecError(self.path, self.loc.line(key), _where_of(path),
                            f"unknown key '{key[-1]}' in [{where}]")
        dotted = ".".join(map(str, path)) or "spec"
        if isinstance(err.instance, float) and err.validator in ("oneOf", "type"):
            msg = f"{dotted}: expected an integer, got {_show(err.instance)}"
        elif err.validator == "oneOf" and len(path) == 4 and path[0] == "instructions" and path[2] == "exclude":
            msg = f"{dotted}: {_show(err.instance)} is neither a value (an integer >= 0) nor a list of values"
        elif err.validator == "oneOf":
            msg = f"{dotted}: {_show(err.instance)} is neither a width nor a register table"
        elif err.validator == "type":
            msg = f"{dotted}: expected {err.validator_value}, got {_show(err.instance)}"
        elif err.validator == "enum":
            msg = f"{dotted}: {_show(err.instance)} is not one of {', '.join(map(str, err.validator_value))}"
        else:
            msg = f"{dotted}: {err.message if len(err.message) < 160 else err.message[:157] + '...'}"
        raise SpecError(self.path, self.loc.line(key), _where_of(path), msg)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _read_spec_file(path: Path) -> bytes:
    """The bytes of the regular file at ``path``, refusing anything else.

    A FIFO would block ``open`` or ``read`` forever, ``/dev/zero`` never
    ends, and opening some devices does something: so a path that is not a
    regular file is never opened, the file is opened without blocking and
    checked again on the open descriptor (in case it was swapped in between),
    and it is read no further than one byte past the size limit.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        _require_regular(path, os.stat(path).st_mode)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SpecError(path, 0, "", "no such spec file") from None
    except OSError as e:
        raise SpecError(path, 0, "", f"cannot read: {e.strerror}") from None
    except ValueError:  # a NUL in the path
        raise SpecError(path, 0, "", "cannot read: the path holds a NUL character") from None
    try:
        _require_regular(path, os.fstat(fd).st_mode)
        chunks, size = [], 0
        while size <= limits.MAX_SPEC_BYTES:
            chunk = os.read(fd, limits.MAX_SPEC_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise SpecError(path, 0, "", f"cannot read: {e.strerror}") from None
    finally:
        os.close(fd)
    if size > limits.MAX_SPEC_BYTES:
        raise SpecError(path, 0, "", _TOO_BIG)
    return b"".join(chunks)


def _require_regular(path, mode):
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "a special file")
        raise SpecError(path, 0, "", f"not a regular file ({kind}); a spec is read only from a regular file")


_TOO_BIG = f"the file holds more than {limits.MAX_SPEC_BYTES} bytes, the limit for a spec file"


def _show(v):
    s = repr(v)
    return s if len(s) < 60 else s[:57] + "..."


def _where_of(path) -> str:
    if len(path) >= 2 and path[0] == "instructions":
        return f"instruction {path[1]!r}"
    if len(path) >= 3 and path[0] == "claims" and path[1] == "instructions":
        return f"claim {path[2]!r}"
    return str(path[0]) if path else ""


def _merge(base: dict, child: dict) -> dict:
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _resolve(p: Path, sources: list) -> Path:
    """``p`` with its links followed; a link that loops (or cannot be followed) is the spec's error,
    at the ``extends`` that named it if there is one."""
    try:
        return p.resolve()
    except (RuntimeError, OSError) as e:  # RuntimeError: "Symlink loop from ..." (Python < 3.13)
        why = "a symbolic link that loops" if isinstance(e, RuntimeError) or getattr(e, "errno", 0) == 40 \
            else f"cannot be followed ({e.strerror or e})"
        if sources:
            prev = sources[-1]
            raise SpecError(prev.path, prev.loc.line(("isa", "extends")), "isa", f"extends {p}, {why}") from None
        raise SpecError(p, 0, "", f"not a spec file: {why}") from None


class _Loader:
    def __init__(self, path: Path, texts: dict | None = None):
        self.sources: list = []  # child first
        seen = []
        p = Path(path)
        while True:
            resolved = _resolve(p, self.sources)
            if resolved in seen:
                prev = self.sources[-1]
                raise SpecError(prev.path, prev.loc.line(("isa", "extends")), "isa", f"'extends' forms a cycle through {p}")
            seen.append(resolved)
            src = _Source(p, None if texts is None else texts.get(str(resolved)))
            self.sources.append(src)
            ext = src.data.get("isa", {}).get("extends")
            if not ext:
                break
            nxt = (p.parent / ext)
            try:
                found = nxt.is_file()
            except (OSError, ValueError):  # a name too long, a NUL...
                found = False
            if not found:
                raise SpecError(p, src.loc.line(("isa", "extends")), "isa", f"extends '{ext}', which is not an existing file")
            if len(self.sources) >= limits.MAX_EXTENDS_CHAIN:
                raise SpecError(p, src.loc.line(("isa", "extends")), "isa",
                                f"extends '{ext}', but a chain of 'extends' may hold at most {limits.MAX_EXTENDS_CHAIN} files")
            p = nxt
        data: dict = {}
        for src in reversed(self.sources):
            d = dict(src.data)
            d.pop("claims", None)  # claims are never inherited: each spec states its own
            if d.get("virtualization", {}).get("inherit") is False:
                data.pop("virtualization", None)  # a map is one VMM design: replace it whole
            bench = d.get("guest", {}).get("bench") if isinstance(d.get("guest"), dict) else None
            if isinstance(bench, dict) and isinstance(data.get("guest"), dict) \
                    and isinstance(data["guest"].get("bench"), dict):
                # a workload is a file or the reason there is none: a variant's entry replaces its parent's
                data = {**data, "guest": {**data["guest"], "bench": {k: v for k, v in data["guest"]["bench"].items()
                                                                     if k not in bench}}}
            data = _merge(data, d)
        data["isa"] = dict(data.get("isa", {}))
        data["isa"]["name"] = self.sources[0].data["isa"]["name"]
        data.pop("helpers", None)
        self.data = data
        self.path = Path(path)

    # ------------------------------------------------------------ locating

    def where(self, keypath) -> tuple:
        """(file, line) of the innermost file that defines ``keypath``."""
        keypath = tuple(keypath)
        for src in self.sources:
            d = src.data
            ok = True
            for k in keypath:
                if isinstance(d, dict) and k in d:
                    d = d[k]
                else:
                    ok = False
                    break
            if ok:
                return src.path, src.loc.line(keypath)
        return self.sources[0].path, 0

    def text_where(self, keypath) -> tuple:
        """(file, line, flat) of the string at ``keypath``: the line its text starts on, and whether
        its lines are not the file's (newlines written as escapes), so all of it is placed on that line."""
        path, _ = self.where(keypath)
        for src in self.sources:
            if src.path == path:
                first, last = src.loc.text_span(keypath)
                value = src.data
                for k in keypath:
                    value = value[k]
                return path, first, value.count("\n") != last - first
        return path, 0, True

    def fail(self, keypath, where, msg):
        path, line = self.where(keypath)
        raise SpecError(path, line, where, msg)

    # -------------------------------------------------------------- build

    def build(self) -> Spec:
        d = self.data
        for section in ("state", "traps", "instructions"):
            if section not in d:
                self.fail((), section, f"the spec has no [{section}] section")
        state = d["state"]
        for key in ("pc", "modes", "supervisor", "user"):
            if key not in state:
                self.fail(("state",), "state", f"[state] needs '{key}'")

        ns = semantics.Namespace()
        registers: dict = {}
        taken: dict = {}

        def claim_name(name, what, keypath):
            if not _NAME.fullmatch(name):
                self.fail(keypath, what, f"'{name}' is not a valid name")
            if name in taken:
                self.fail(keypath, what, f"'{name}' is already declared as {taken[name]}")
            taken[name] = what

        # modes
        modes = dict(state["modes"])
        mode_width = max(1, max(modes.values()).bit_length())
        if len(set(modes.values())) != len(modes):
            self.fail(("state", "modes"), "state", "two modes share one value")
        for m in modes:
            claim_name(m, "a mode", ("state", "modes", m))
        sup, usr = list(state["supervisor"]), list(state["user"])
        for key in ("supervisor", "user"):
            for m in state[key]:
                if m not in modes:
                    self.fail(("state", key), "state", f"'{m}' is not a declared mode")
        if set(sup) & set(usr) or set(sup) | set(usr) != set(modes):
            self.fail(("state", "user" if set(sup) & set(usr) else "modes"), "state",
                      "every mode must be listed once, under either supervisor or user")
        if not sup or not usr:
            self.fail(("state", "user" if sup else "supervisor"), "state",
                      "at least one supervisor mode and one user mode are needed")
        initial = state.get("initial_mode", sup[-1])
        if initial not in modes:
            self.fail(("state", "initial_mode"), "state", f"initial_mode '{initial}' is not a declared mode")

        registers["pc"] = Register("pc", state["pc"], 0, False, 0, "program counter")
        registers["mode"] = Register("mode", mode_width, ir.mask(mode_width), False, modes[initial], "privilege mode")
        claim_name("pc", "a register", ("state", "pc"))
        claim_name("mode", "a register", ("state", "modes"))
        for name, decl in state.get("registers", {}).items():
            kp = ("state", "registers", name)
            claim_name(name, "a register", kp)
            if isinstance(decl, int):
                decl = {"width": decl}
            w = decl["width"]
            cmask = ir.mask(w) if decl.get("control") else decl.get("control_mask", 0)
            if "control" in decl and "control_mask" in decl:
                self.fail(kp, "state", f"register '{name}' gives both control and control_mask")
            if cmask > ir.mask(w):
                self.fail(kp + ("control_mask",), "state", f"control_mask of '{name}' does not fit in {w} bits")
            reset = decl.get("reset", 0)
            if reset > ir.mask(w):
                self.fail(kp + ("reset",), "state", f"reset value of '{name}' does not fit in {w} bits")
            registers[name] = Register(name, w, cmask, bool(decl.get("timing", False)), reset, decl.get("doc", ""))

        files: dict = {}
        for name, decl in state.get("files", {}).items():
            kp = ("state", "files", name)
            claim_name(name, "a register file", kp)
            if decl["count"] & (decl["count"] - 1):
                self.fail(kp + ("count",), "state", f"register file '{name}' has {decl['count']} entries; use a power of "
                          "two (declare the spare entries) so that every index the encoding can hold exists")
            hard = {}
            for k, v in decl.get("hardwired", {}).items():
                if not (k.isascii() and k.isdigit()) or int(k) >= decl["count"]:
                    self.fail(kp + ("hardwired", k), "state", f"hardwired entry '{k}' of '{name}' is not an index below {decl['count']}")
                if v > ir.mask(decl["width"]):
                    self.fail(kp + ("hardwired", k), "state", f"hardwired value of '{name}[{k}]' does not fit")
                hard[int(k)] = v
            names = list(decl.get("names", []))
            if names and len(names) != decl["count"]:
                self.fail(kp + ("names",), "state", f"'{name}' lists {len(names)} names for {decl['count']} registers")
            for n in names:
                if not _NAME.fullmatch(n):
                    self.fail(kp + ("names",), "state", f"{n!r} in the names of '{name}' is not a valid name")
            aliases = dict(decl.get("aliases", {}))
            for a, i in aliases.items():
                if not _NAME.fullmatch(a):
                    self.fail(kp + ("aliases", a), "state", f"alias {a!r} of '{name}' is not a valid name")
                if i >= decl["count"]:
                    self.fail(kp + ("aliases", a), "state", f"alias '{a}' of '{name}' is out of range")
            files[name] = RegFile(name, decl["count"], decl["width"], hard, names, aliases, decl.get("doc", ""))

        # traps
        traps = d["traps"]
        code_width = traps.get("code", 32)
        tval_width = traps.get("tval", 32)
        causes: dict = {}
        for i, (name, c) in enumerate(traps.get("causes", {}).items()):
            if not _NAME.fullmatch(name):
                self.fail(("traps", "causes", name), "traps", f"'{name}' is not a valid cause name")
            if c["code"] > ir.mask(code_width):
                self.fail(("traps", "causes", name, "code"), "traps", f"code of cause '{name}' does not fit in {code_width} bits")
            causes[name] = Cause(name, c["code"], c["kind"], i, c.get("doc", ""))
        if not causes:
            self.fail(("traps",), "traps", "declare at least one trap cause under [traps.causes]")
        if not any(c.kind == "privilege" for c in causes.values()):
            self.fail(("traps", "causes"), "traps", "no cause has kind 'privilege', so nothing could ever be privileged")

        memory = None
        if "memory" in state:
            m = state["memory"]
            size = m.get("size", 1 << m["address"])
            if size > (1 << m["address"]):
                self.fail(("state", "memory", "size"), "state", f"memory size {size} exceeds the {m['address']}-bit address space")
            fault = m.get("fault")
            if fault is not None and fault not in causes:
                self.fail(("state", "memory", "fault"), "state", f"memory fault cause '{fault}' is not declared")
            if fault is None and size < (1 << m["address"]):
                self.fail(("state", "memory"), "state", "a memory smaller than its address space needs a 'fault' cause")
            store_fault = m.get("store_fault")
            if store_fault is not None and store_fault not in causes:
                self.fail(("state", "memory", "store_fault"), "state",
                          f"memory store fault cause '{store_fault}' is not declared")
            if store_fault is not None and size >= (1 << m["address"]):
                self.fail(("state", "memory", "store_fault"), "state", "store_fault is the cause of a store outside "
                                                                        "memory, but this memory fills its address space")
            for key, c in (("fault", fault), ("store_fault", store_fault)):
                if c is not None and causes[c].kind == "interrupt":
                    self.fail(("state", "memory", key), "state", f"memory {key.replace('_', ' ')} cause '{c}' has kind "
                                                                 "'interrupt'; an access faults synchronously")
            memory = Memory(m["unit"], m["address"], size, fault, m.get("doc", ""), store_fault)
        devices = self._devices(registers, memory, modes)

        constants = dict(d.get("constants", {}))
        for name in constants:
            claim_name(name, "a constant", ("constants", name))
        enums = {k: dict(v) for k, v in d.get("enums", {}).items()}
        for name in enums:
            claim_name(name, "an enumeration", ("enums", name))
            for member in enums[name]:
                if not _NAME.fullmatch(member):
                    self.fail(("enums", name, member), "enums", f"member {member!r} of '{name}' is not a valid name")

        banks = self._banks(registers, modes, constants, claim_name)
        for name, f in files.items():
            f.banked = self._file_banks(name, f, banks)

        ns.registers = {n: r.width for n, r in registers.items()}
        ns.banks = banks
        ns.file_banks = {n: f.banked for n, f in files.items() if f.banked}
        ns.files = {n: (f.count, f.width) for n, f in files.items()}
        if memory:
            ns.memory_unit, ns.address_width = memory.unit, memory.address
        ns.constants = {**constants, **modes}
        ns.enums = enums
        ns.causes = set(causes)
        ns.interrupts = {n for n, c in causes.items() if c.kind == "interrupt"}
        ns.tval_width = tval_width

        # operands
        operands: dict = {}
        for name, o in d.get("operands", {}).items():
            kp = ("operands", name)
            claim_name(name, "an operand", kp)
            if o["kind"] == "reg" and o.get("file") not in files:
                self.fail(kp, f"operand {name!r}", f"register operand '{name}' names no declared register file")
            if o["kind"] == "enum" and o.get("enum") not in enums:
                self.fail(kp, f"operand {name!r}", f"enum operand '{name}' names no declared enumeration")
            operands[name] = OperandDecl(name, o["kind"], o.get("file"), o.get("enum"), o.get("signed", False),
                                         o.get("pcrel", False), o.get("doc", ""))

        # helpers, from every file (a child may add or replace helpers)
        helpers: dict = {}
        for src in reversed(self.sources):
            text = src.data.get("helpers", {}).get("code")
            if text:
                first, last = src.loc.text_span(("helpers", "code"))
                for name, h in semantics.parse_helpers(text, src.path, first, text.count("\n") != last - first).items():
                    if name in taken:
                        raise SpecError(src.path, h.line_base + h.node.lineno - 1, f"helper '{name}'",
                                        f"'{name}' is already declared as {taken[name]}")
                    helpers[name] = h
        time = self._time(registers, helpers, taken)
        ns.helpers = helpers
        for name in helpers:
            taken[name] = "a helper"

        # trap entry
        if "entry" not in traps:
            self.fail(("traps",), "traps", "[traps] needs an 'entry' describing how a trap is taken")
        epath, eline, flat = self.text_where(("traps", "entry"))
        budget = self.budget = semantics.Budget(limits.MAX_SPEC_NODES)  # shared by every body below
        entry = semantics.compile_body(ns, traps["entry"], epath, "trap entry", eline,
                                       {"cause": code_width, "tval": tval_width}, flat, budget)
        bad = [s for s in ir.walk_stmts(entry) if isinstance(s, (ir.Trap, ir.Halt, ir.Leave))]
        if bad:
            # the trap's own line when it is written in the entry (not in a helper it calls)
            eend = eline + traps["entry"].count("\n")
            line = next((s.line for s in bad if eline <= s.line <= eend), eline)
            raise SpecError(epath, line, "trap entry", "the trap entry may not trap or halt")

        # instructions
        instructions: dict = {}
        unit = memory.unit if memory else 8
        declared = list(d["instructions"].items())
        if len(declared) > limits.MAX_INSTRUCTIONS:
            self.fail(("instructions", declared[limits.MAX_INSTRUCTIONS][0]), "instructions",
                      f"the spec declares {len(declared)} instructions; the limit is {limits.MAX_INSTRUCTIONS}")
        # every encoding first, so that overlaps are found in one pass instead of pair by pair;
        # errors are still reported in declaration order, each where the loop below meets it
        encodings, patterns = [], []
        for _, idecl in declared:
            try:
                encodings.append(_encoding(idecl))
            except _ExcludeError as e:
                encodings.append(e)
            except EncodingError as e:
                encodings.append(e)
        clash, too_many = _first_clash(encodings)
        for k, (name, idecl) in enumerate(declared):
            kp = ("instructions", name)
            where = f"instruction {name!r}"  # repr: a quoted TOML key may hold a newline
            if not _NAME.fullmatch(name):
                self.fail(kp, where, f"'{name}' is not a valid instruction name")
            ipath, _ = self.where(kp)
            enc = encodings[k]
            if isinstance(enc, _ExcludeError):
                self.fail(kp + ("exclude", enc.field), where, f"exclude: {enc}")
            if isinstance(enc, EncodingError):
                self.fail(kp + ("encoding",), where, f"encoding: {enc}")
            if too_many == k:
                self.fail(kp + ("exclude",), where, f"exclude: the spec's excluded values split its encodings into "
                                                    f"more than {limits.MAX_SPEC_PATTERNS} patterns in all; exclude fewer")
            if enc.width % unit:
                self.fail(kp + ("encoding",), where, f"encoding is {enc.width} bits, not a whole number of {unit}-bit memory units")
            ops = {}
            for fname, fw in enc.field_widths.items():
                if fname not in operands:
                    self.fail(kp + ("encoding",), where, f"encoding field '{fname}' is not a declared operand")
                od = operands[fname]
                if od.kind == "reg" and fw != files[od.file].index_width:
                    self.fail(kp + ("encoding",), where,
                              f"field '{fname}' is {fw} bits but register file '{od.file}' needs {files[od.file].index_width}")
                ops[fname] = fw
            if clash is not None and clash[0] == k:
                self.fail(kp + ("encoding",), where, f"encoding overlaps instruction '{declared[clash[1]][0]}'")
            spath, sline, flat = self.text_where(kp + ("semantics",))
            body = semantics.compile_body(ns, idecl["semantics"], spath, where, sline, ops, flat, budget)
            variants = idecl.get("variants")
            if variants is not None and (variants not in ops or operands[variants].kind != "enum"):
                self.fail(kp + ("variants",), where, f"variants must name an enum operand of this instruction, not '{variants}'")
            _, iline = self.where(kp)
            instructions[name] = Instruction(name, enc, body, ops, idecl.get("syntax", ""), idecl.get("doc", ""),
                                             variants, str(ipath), iline, sline, enc.width // unit,
                                             bool(idecl.get("paravirtual", False)))
            if instructions[name].paravirtual and not any(
                    isinstance(st, ir.Leave) and st.kind == "hypercall" for st in ir.walk_stmts(body)):
                self.fail(kp + ("paravirtual",), where, "a paravirtual instruction must make a hypercall(...)")
        if not instructions:
            self.fail(("instructions",), "instructions", "the spec declares no instructions")

        invariants = []
        for i, text in enumerate(state.get("invariants", [])):
            p, line = self.where(("state", "invariants"))
            pre, e = semantics.compile_expr(ns, text, p, "invariant", line, {}, ir.BOOL, budget)
            invariants.append(PureExpr(pre, e, text, line))

        vmap = self._virtualization(ns, registers, memory, modes)
        if vmap is not None and "paravirt" in self.data["virtualization"]:
            vmap.paravirt = self._paravirt(self.data["virtualization"]["paravirt"], instructions, operands)
        if vmap is not None and "mmu" in self.data["virtualization"]:
            vmap.mmu = self._mmu(ns, helpers, declared, instructions, d["isa"].get("fetch"))
        theorem_claims, instruction_claims = self._claims(instructions, enums)

        boundary, boundary_body, boundary_inputs = self._boundary(ns)

        fetch = d["isa"].get("fetch")
        if fetch is not None and (fetch not in helpers or helpers[fetch].params or not helpers[fetch].returns):
            self.fail(("isa", "fetch"), "isa", f"fetch names '{fetch}', which is not a helper taking no parameters and returning an address")

        digest = hashlib.sha256()
        for src in self.sources:
            digest.update(str(src.path.name).encode() + b"\0" + src.raw + b"\0")
        verdict_digest = _verdict_digest(self.sources)
        spec = Spec(
            name=d["isa"]["name"], title=self.sources[0].data["isa"].get("title", d["isa"].get("title", "")),
            summary=self.sources[0].data["isa"].get("summary", ""),
            path=str(self.path), paths=[str(s.path) for s in self.sources], digest=digest.hexdigest(),
            sources={str(s.path.resolve()): s.raw for s in self.sources},
            registers=registers, files=files, memory=memory, modes=modes, supervisor=sup, user=usr,
            initial_mode=initial, constants=constants, enums=enums, causes=causes, code_width=code_width,
            tval_width=tval_width, entry=entry, operands=operands, instructions=instructions,
            invariants=invariants, virtualization=vmap, theorem_claims=theorem_claims, banks=banks,
            instruction_claims=instruction_claims, references=dict(d.get("references", {})), namespace=ns,
            fetch=fetch, guest=self._guest(causes), verdict_digest=verdict_digest,
            devices=devices, time=time, boundary=boundary, boundary_body=boundary_body,
            boundary_inputs=boundary_inputs,
        )
        return spec

    def _devices(self, registers, memory, modes) -> tuple:
        """``[state.devices.<name>]``: windows of the address space, outside memory, whose offsets are registers."""
        out = []
        for name, dv in self.data["state"].get("devices", {}).items():
            kp = ("state", "devices", name)
            what = f"device '{name}'"
            if not _NAME.fullmatch(name):
                self.fail(kp, "state", f"{name!r} is not a valid device name")
            if memory is None:
                self.fail(kp, "state", f"{what}: a device window is part of the address space, and the spec declares no memory")
            top = 1 << memory.address
            base, size = dv["base"], dv["size"]
            if base + size > top:
                self.fail(kp + ("size",), "state", f"{what}: the window [{base:#x}, {base + size:#x}) leaves the "
                                                    f"{memory.address}-bit address space")
            if base < memory.size:
                self.fail(kp + ("base",), "state", f"{what}: the window starts at {base:#x}, inside memory (which ends "
                                                    f"at {memory.size:#x}); a window is where an access misses memory")
            for other in out:
                if base < other.base + other.size and other.base < base + size:
                    self.fail(kp + ("base",), "state", f"{what}: the window overlaps device '{other.name}'")
            if not dv["modes"]:
                self.fail(kp + ("modes",), "state", f"{what}: list at least one mode that may access the window")
            for m in dv["modes"]:
                if m not in modes:
                    self.fail(kp + ("modes",), "state", f"{what}: '{m}' is not a declared mode")
            regs = []
            for key, reg in dv["registers"].items():
                try:
                    off = int(key, 0)
                except ValueError:
                    off = -1
                if off < 0:
                    self.fail(kp + ("registers", key), "state", f"{what}: {key!r} is not an offset (an integer such as 0x4000)")
                if reg not in registers or reg in ("pc", "mode"):
                    self.fail(kp + ("registers", key), "state", f"{what}: offset {key} names '{reg}', which is not a "
                                                                 "state register (pc and mode excluded)")
                n = -(-registers[reg].width // memory.unit)
                if off + n > size:
                    self.fail(kp + ("registers", key), "state", f"{what}: '{reg}' takes {n} memory units from offset "
                                                                 f"{off:#x}, past the window's size {size:#x}")
                for o2, r2, n2 in regs:
                    if off < o2 + n2 and o2 < off + n:
                        self.fail(kp + ("registers", key), "state", f"{what}: '{reg}' at offset {off:#x} overlaps "
                                                                     f"'{r2}' at {o2:#x}")
                regs.append((off, reg, n))
            out.append(Device(name, base, size, tuple(sorted({modes[m] for m in dv["modes"]})), tuple(sorted(regs)),
                              self.where(kp)[1]))
        return tuple(sorted(out, key=lambda dev: dev.base))

    def _time(self, registers, helpers, taken) -> Time | None:
        """``[time]``: the counters that advance by themselves, and the deadlines on them, each of which
        defines a helper ``<name>_due()`` (added to ``helpers``), so a spec states the comparison once."""
        t = self.data.get("time")
        if t is None:
            return None
        listed = {}
        for kind in [k for k in t if k in ("retired", "steps")]:  # in the file's order: the second listing is the error
            for r in t[kind]:
                if r not in registers or r in ("pc", "mode"):
                    self.fail(("time", kind), "time", f"{kind} names '{r}', which is not a state register (pc and mode excluded)")
                if r in listed:
                    self.fail(("time", kind), "time", f"'{r}' is listed twice (in {listed[r]} and {kind}); "
                                                      "a counter advances by one rule")
                listed[r] = kind
        deadlines = []
        for name, dl in t.get("deadlines", {}).items():
            kp = ("time", "deadlines", name)
            what = f"deadline '{name}'"
            if not _NAME.fullmatch(name):
                self.fail(kp, "time", f"{name!r} is not a valid deadline name")
            counter, compare = dl["counter"], dl["compare"]
            for key, r in (("counter", counter), ("compare", compare)):
                if r not in registers or r in ("pc", "mode"):
                    self.fail(kp + (key,), "time", f"{what}: {key} '{r}' is not a state register (pc and mode excluded)")
            if counter not in listed:
                self.fail(kp + ("counter",), "time", f"{what}: counter '{counter}' is not listed in [time] retired or "
                                                      "steps, so nothing advances it")
            if compare in listed:
                self.fail(kp + ("compare",), "time", f"{what}: compare '{compare}' is itself a counter in [time]")
            w = registers[counter].width
            if registers[compare].width != w:
                self.fail(kp + ("compare",), "time", f"{what}: compare '{compare}' is {registers[compare].width} bits "
                                                      f"and counter '{counter}' {w}; they must be as wide")
            disarmed = dl.get("disarmed")
            if disarmed is not None and disarmed > mask(w):
                self.fail(kp + ("disarmed",), "time", f"{what}: disarmed value does not fit in {w} bits")
            helper = f"{name}_due"
            if helper in taken or helper in helpers:
                self.fail(kp, "time", f"{what} defines helper '{helper}', but '{helper}' is already declared as "
                                      f"{taken.get(helper, 'a helper')}")
            cond = f"{counter} >= {compare}" if disarmed is None else f"{compare} != {disarmed} and {counter} >= {compare}"
            path, line = self.where(kp)
            helpers.update(semantics.parse_helpers(f"def {helper}() -> bool:\n    return {cond}\n", path, line, True))
            deadlines.append(Deadline(name, counter, compare, disarmed))
        return Time(tuple(r for r, k in listed.items() if k == "retired"),
                    tuple(r for r, k in listed.items() if k == "steps"), tuple(deadlines))

    def _boundary(self, ns) -> tuple:
        """``[interrupts] boundary`` lowered once, and the registers it reads.

        It may read and write registers only: no pc, no register file, no memory, no load, store,
        trap, halt or hypercall.  So it is a function of a set of registers (and nothing else),
        which is what lets a backend skip it while none of them changed and no deadline fell.
        """
        i = self.data.get("interrupts")
        if i is None:
            return None, (), frozenset()
        where = "interrupts boundary"
        bpath, bline, flat = self.text_where(("interrupts", "boundary"))
        text = i["boundary"]
        body = semantics.compile_body(ns, text, bpath, where, bline, {}, flat, self.budget, boundary=True)
        bend = bline + text.count("\n")

        def refuse(st, msg):
            line = st.line if bline <= getattr(st, "line", 0) <= bend else bline  # a helper's line is not the boundary's
            raise SpecError(bpath, line, where, f"the boundary program {msg}")

        for st in ir.walk_stmts(body):
            if isinstance(st, ir.Load):
                refuse(st, "reads memory (load); it runs before every instruction and may read registers only")
            if isinstance(st, ir.Store):
                refuse(st, "writes memory (store); it may write registers only")
            if isinstance(st, ir.Halt):
                refuse(st, "halts; only an instruction may halt the machine")
            if isinstance(st, ir.Trap):
                refuse(st, f"traps ({st.cause}); an asynchronous event is raised by interrupt(cause)")
            if isinstance(st, ir.Leave) and st.kind != "vmexit":
                refuse(st, f"makes a {st.kind}(); it may end in interrupt(...) or vmexit(...)")
            if isinstance(st, ir.SetFile):
                refuse(st, f"writes register file '{st.file}'; it may write registers only")
            if isinstance(st, ir.SetReg) and st.name == "pc":
                refuse(st, "writes pc; a delivery sets pc through the trap entry")
            for e in ir.stmt_exprs(st):
                for x in _walk_expr(e):
                    if isinstance(x, ir.FileRead):
                        refuse(st, f"reads register file '{x.file}'; it may read registers only")
                    if isinstance(x, ir.Reg) and x.name == "pc":
                        refuse(st, "reads pc; it is a function of registers other than pc")
        inputs = frozenset(e.name for e in ir.walk_exprs(body) if isinstance(e, ir.Reg))
        return text, body, inputs

    def _banks(self, registers, modes, constants, claim_name) -> dict:
        """The ``[state.banked]`` registers; each copy joins ``registers`` as a data register."""
        banks = {}
        for name, decl in self.data["state"].get("banked", {}).items():
            kp = ("state", "banked", name)
            claim_name(name, "a banked register", kp)
            by = decl.get("by", "mode")
            m = _SELECTOR.fullmatch(by)
            if m is None:
                self.fail(kp + ("by",), "state", f"banked register '{name}': by = {by!r} is not a register or "
                                                 "bits of one (\"mode\", \"psr[4:0]\", \"scr[0]\")")
            reg = m.group(1)
            hi = int(m.group(2)) if m.group(2) is not None else None
            lo = int(m.group(3)) if m.group(3) is not None else hi
            if reg not in registers or reg == "pc":
                self.fail(kp + ("by",), "state", f"banked register '{name}': by names '{reg}', which is not a "
                                                 "declared register (pc excluded)")
            r = registers[reg]
            hi, lo = (r.width - 1, 0) if hi is None else (hi, lo)
            if not lo <= hi < r.width:
                self.fail(kp + ("by",), "state", f"banked register '{name}': bits [{hi}:{lo}] of '{reg}' are "
                                                 f"outside its {r.width} bits")
            field = mask(hi - lo + 1) << lo
            if r.control_mask & field != field:
                self.fail(kp + ("by",), "state", f"banked register '{name}': the bits of '{reg}' that select its "
                                                 "copy must be control state (which storage an instruction reaches "
                                                 "is protection state, as the mode is)")
            listed = sum(len(v) for v in decl["copies"].values())
            if listed > limits.MAX_BANK_CHOICES:
                self.fail(kp + ("copies",), "state", f"banked register '{name}': its copies list {listed} values; "
                                                     f"the limit is {limits.MAX_BANK_CHOICES}")
            copies, selects = {}, {}

            def show(v):
                return limits.show_int(v) if isinstance(v, int) else v
            for copy, values in decl["copies"].items():
                cname = f"{name}_{copy}"
                claim_name(cname, f"copy '{copy}' of banked register '{name}'", kp + ("copies", copy))
                copies[copy] = cname
                for v in values:
                    value = modes.get(v, constants.get(v)) if isinstance(v, str) else v
                    if value is None:
                        self.fail(kp + ("copies", copy), "state", f"banked register '{name}': copy '{copy}' "
                                  f"lists '{v}', which is neither a mode nor a constant")
                    if not 0 <= value <= mask(hi - lo + 1):
                        self.fail(kp + ("copies", copy), "state", f"banked register '{name}': copy '{copy}' lists "
                                  f"{show(v)}, which the {hi - lo + 1}-bit field {by!r} cannot hold")
                    if value in selects:
                        self.fail(kp + ("copies", copy), "state", f"banked register '{name}': {show(v)} selects both "
                                  f"copy '{selects[value].removeprefix(name + '_')}' and copy '{copy}'")
                    selects[value] = cname
            w = decl["width"]
            reset = decl.get("reset", 0)
            if reset > mask(w):
                self.fail(kp + ("reset",), "state", f"reset value of '{name}' does not fit in {w} bits")
            doc = decl.get("doc", "")
            for copy, cname in copies.items():
                registers[cname] = Register(cname, w, 0, False, reset, f"{name} of {copy}" + (f": {doc}" if doc else ""))
            banks[name] = Bank(name, w, reg, hi, lo, copies, selects, doc)
        return banks

    def _file_banks(self, name, f, banks) -> dict:
        """A register file's ``banked`` entries: index -> banked register."""
        out = {}
        entries = self.data["state"]["files"][name].get("banked", {})
        if len(entries) > limits.MAX_BANK_CHOICES:
            self.fail(("state", "files", name, "banked"), "state", f"register file '{name}' has {len(entries)} banked "
                                                                   f"entries; the limit is {limits.MAX_BANK_CHOICES}")
        for k, bank in entries.items():
            kp = ("state", "files", name, "banked", k)
            if not (k.isascii() and k.isdigit()) or int(k) >= f.count:
                self.fail(kp, "state", f"banked entry '{k}' of '{name}' is not an index below {f.count}")
            if int(k) in f.hardwired:
                self.fail(kp, "state", f"entry {k} of '{name}' is both hardwired and banked")
            if bank not in banks:
                self.fail(kp, "state", f"entry {k} of '{name}' names '{bank}', which is not a [state.banked] register")
            if banks[bank].width != f.width:
                self.fail(kp, "state", f"entry {k} of '{name}' is {f.width} bits but banked register '{bank}' is "
                                       f"{banks[bank].width}")
            out[int(k)] = bank
        return out

    def _virtualization(self, ns, registers, memory, modes):
        v = self.data.get("virtualization")
        if v is None:
            return None
        kp = ("virtualization",)
        where = "virtualization"
        vmodes = dict(v.get("modes", {}))
        for g, r in vmodes.items():
            if g not in modes or r not in modes:
                self.fail(kp + ("modes",), where, f"mode map '{g} = {r}' names an undeclared mode")
        if set(vmodes) != set(modes):
            self.fail(kp + ("modes",), where, "the mode map must give a real mode for every guest mode")
        params = dict(v.get("params", {}))
        for p in params:
            if not _NAME.fullmatch(p):
                self.fail(kp + ("params", p), where, f"placement parameter {p!r} is not a valid name")
            if p in ns.registers or p in ns.constants or p in ns.files or p in ns.enums or p in ns.helpers:
                self.fail(kp + ("params", p), where, f"placement parameter '{p}' clashes with a declared name")

        def expr(key, text, width):
            path, line = self.where(kp + key)
            pre, e = semantics.compile_expr(ns, text, path, f"virtualization {'.'.join(key)}", line, params, width,
                                            self.budget)
            return PureExpr(pre, e, text, line)

        vm = VirtualizationMap(vmodes, params, summary=v.get("summary", ""), line=self.where(kp)[1],
                               hardware_assist=bool(v.get("hardware_assist", False)))
        if "memory_offset" in v:
            if memory is None:
                self.fail(kp + ("memory_offset",), where, "memory_offset needs a declared memory")
            if memory.size != (1 << memory.address):
                self.fail(kp + ("memory_offset",), where,
                          "relocating memory needs a memory that fills its address space (size = 2**address)")
            vm.memory_offset = expr(("memory_offset",), v["memory_offset"], memory.address)
        if "assume" in v:
            vm.assume = expr(("assume",), v["assume"], ir.BOOL)
        copies = {c: b for b in ns.banks.values() for c in b.copies.values()}
        for table in ("relocate", "shadow"):
            for reg, text in v.get(table, {}).items():
                if reg not in registers or reg in ("pc", "mode"):
                    self.fail(kp + (table, reg), where, f"{table} entry '{reg}' is not a state register (pc and mode excluded)")
                if reg in copies:
                    self.fail(kp + (table, reg), where, f"{table} entry '{reg}' is a copy of banked register "
                                                        f"'{copies[reg].name}': placement moves the copies itself")
                getattr(vm, table)[reg] = expr((table, reg), text, registers[reg].width)
        return vm

    def _guest(self, causes) -> GuestABI | None:
        """The ``[guest]`` table, its files resolved beside the spec file that declares them."""
        g = self.data.get("guest")
        if g is None:
            return None
        kp = ("guest",)

        def resolve(key, name):
            # beside the file that declares it; whether it exists is the guest library's
            # business, so a spec copied away from its folder still loads and checks
            decl, _ = self.where(kp + key)
            return str(Path(decl).parent / name)

        halt = g["halt"]
        cause = halt.get("cause")
        if halt["by"] == "trap" and cause not in causes:
            self.fail(kp + ("halt",), "guest", f"halt by trap needs 'cause', a declared trap cause (not {cause!r})")
        if halt["by"] == "instruction" and cause is not None:
            self.fail(kp + ("halt",), "guest", "halt by instruction takes no cause")
        for key, field in (("syscall", "n"), ("jump", "label"), ("arg", "v")):
            if "{" + field + "}" not in g[key]:
                self.fail(kp + (key,), "guest", f"the {key} template must contain {{{field}}}")
        bench = {}
        for name, w in g.get("bench", {}).items():
            if ("file" in w) == ("na" in w):
                self.fail(kp + ("bench", name), "guest", f"workload '{name}' needs exactly one of 'file' and 'na'")
            entry = {"note": w.get("note", "")}
            if "file" in w:
                entry["file"] = resolve(("bench", name), w["file"])
            else:
                entry["na"] = w["na"]
            bench[name] = entry
        calls, numbers = {}, {}
        for name, c in g.get("calls", {}).items():
            if c["n"] < 4:
                self.fail(kp + ("calls", name), "guest", f"call '{name}' has number {c['n']}: 0-2 are the library's "
                                                          "own system calls and 3 runs the fuzzer's kernel code")
            if c["n"] in numbers:
                self.fail(kp + ("calls", name), "guest", f"call '{name}' has number {c['n']}, as '{numbers[c['n']]}' does")
            if not 1 <= c["args"] <= 256:
                self.fail(kp + ("calls", name), "guest", f"call '{name}' takes {c['args']} argument values; 1 to 256")
            numbers[c["n"]] = name
            calls[name] = (c["n"], c["args"], c.get("doc", ""))
        path, line = self.where(kp)
        return GuestABI(resolve(("boot",), g["boot"]), g["word_units"], halt["by"], cause, g["syscall"], g["jump"],
                        g["arg"], bench, str(path), line, calls)

    def _mmu(self, ns, helpers, declared, instructions, fetch) -> MmuMap:
        """``[virtualization.mmu]``, and every instruction's body lowered for a virtualized MMU."""
        kp = ("virtualization", "mmu")
        where = "virtualization mmu"
        m = self.data["virtualization"]["mmu"]
        _, line = self.where(kp)
        if m["kind"] == "nested" and not self.data["virtualization"].get("hardware_assist", False):
            self.fail(kp + ("kind",), where, "nested paging is a second stage the hardware walks: it needs a "
                                             "hardware-assist map (hardware_assist = true)")
        h = helpers.get(m["translate"])
        if h is None or h.returns is None:
            self.fail(kp + ("translate",), where, f"translate must name a helper that returns the physical address, "
                                                  f"not '{m['translate']}'")
        names = [p for p, _ in h.params]
        if m["privilege"] not in names:
            self.fail(kp + ("privilege",), where, f"privilege must name a parameter of helper '{h.name}' "
                                                  f"({', '.join(names) or 'it has none'}), not '{m['privilege']}'")
        k = names.index(m["privilege"])
        if h.params[k][1] != ns.registers["mode"]:
            self.fail(kp + ("privilege",), where, f"parameter '{m['privilege']}' is {h.params[k][1]} bits wide; a "
                                                  f"privilege is a mode, {ns.registers['mode']} bits")
        lowering = semantics.MmuLowering(h.name, k)
        budget = semantics.Budget(limits.MAX_SPEC_NODES)  # the lowering below doubles no other body's budget
        read: set = set()
        for name, idecl in declared:
            spath, sline, flat = self.text_where(("instructions", name, "semantics"))
            body = semantics.compile_body(ns, idecl["semantics"], spath, f"instruction {name!r}", sline,
                                          instructions[name].operands, flat, budget, lowering)
            instructions[name].mmu_body = body
            read |= _mmu_reads(body)
        if fetch:
            read |= _mmu_reads(semantics.compile_body(ns, f"_a: {self.data['state']['memory']['address']} = {fetch}()",
                                                      self.path, "isa.fetch", 0, {}, mmu=lowering))
        if not read:
            self.fail(kp + ("translate",), where, f"no instruction and not the fetch calls '{h.name}': "
                                                  "there is no translation to virtualize")
        regs = tuple(sorted(r for r in read if r != "mode"))
        return MmuMap(m["kind"], h.name, m["privilege"], regs, line)

    def _paravirt(self, pv, instructions, operands):
        kp = ("virtualization", "paravirt")
        where = "virtualization paravirt"
        hc = instructions.get(pv["hypercall"])
        if hc is None or not hc.paravirtual:
            self.fail(kp + ("hypercall",), where, f"hypercall must name an instruction with paravirtual = true, not '{pv['hypercall']}'")
        count = pv.get("count")
        if count is not None and (count not in hc.operands or operands[count].kind != "imm"):
            self.fail(kp + ("count",), where, f"count must name an immediate operand of '{hc.name}', not '{count}'")
        read = None
        if "read" in pv:
            r = pv["read"]
            ri = instructions.get(r["instruction"])
            if ri is None:
                self.fail(kp + ("read",), where, f"read names no instruction '{r['instruction']}'")
            if r["register"] not in ri.operands or operands[r["register"]].kind != "reg":
                self.fail(kp + ("read",), where, f"'{r['register']}' is not a register operand of '{ri.name}'")
            if r["address"] not in ri.operands or operands[r["address"]].kind != "imm":
                self.fail(kp + ("read",), where, f"'{r['address']}' is not an immediate operand of '{ri.name}'")
            if set(ri.operands) != {r["register"], r["address"]}:
                self.fail(kp + ("read",), where, f"'{ri.name}' has operands besides the register and the address")
            read = (ri.name, r["register"], r["address"])
        return Paravirt(pv["hypercall"], count, read)

    def _claims(self, instructions, enums):
        src = self.sources[0]
        c = src.data.get("claims", {})
        refs = self.data.get("references", {})
        theorem_claims, instruction_claims = {}, {}

        def check_source(kp, source):
            if source and source not in refs:
                raise SpecError(src.path, src.loc.line(kp), "claims", f"source '{source}' is not a key of [references]")

        for t in ("theorem1", "theorem2", "theorem3"):
            if t in c:
                kp = ("claims", t)
                check_source(kp, c[t].get("source", ""))
                violators = c[t].get("violators")
                if violators is not None:
                    for v in violators:
                        if v not in instructions:
                            raise SpecError(src.path, src.loc.line(kp), f"claims.{t}",
                                            f"violators names no instruction '{v}'")
                    if c[t]["holds"] and violators:
                        raise SpecError(src.path, src.loc.line(kp), f"claims.{t}",
                                        "a theorem claimed to hold has no violators")
                    violators = frozenset(violators)
                theorem_claims[t] = TheoremClaim(t, c[t]["holds"], c[t].get("source", ""), violators=violators,
                                                 note=c[t].get("note", ""), path=str(src.path),
                                                 line=src.loc.line(kp))
        units = None
        for name, decl in c.get("instructions", {}).items():
            kp = ("claims", "instructions", name)
            base, _, member = name.partition(".")
            if base not in instructions:
                raise SpecError(src.path, src.loc.line(kp), f"claim {name!r}", f"no instruction '{base}'")
            if member:
                var = instructions[base].variants
                if var is None:
                    raise SpecError(src.path, src.loc.line(kp), f"claim {name!r}", f"instruction '{base}' has no variants")
                enum = self.data["operands"][var]["enum"]
                if member != "other" and member not in enums[enum]:
                    raise SpecError(src.path, src.loc.line(kp), f"claim {name!r}", f"'{member}' is not a member of enumeration '{enum}'")
            units = self._claim_units(instructions, enums) if units is None else units
            if not any(u.id == name or u.instruction == name for u in units):
                raise SpecError(src.path, src.loc.line(kp), f"claim {name!r}",
                                self._selects_nothing(name, instructions[base], enums))
            check_source(kp, decl.get("source", ""))
            expect = {k: v for k, v in decl.items() if k in _CLAIM_PROPS}
            if not expect:
                raise SpecError(src.path, src.loc.line(kp), f"claim {name!r}", "the claim states no property")
            instruction_claims[name] = InstructionClaim(name, expect, decl.get("source", ""), decl.get("note", ""),
                                                        str(src.path), src.loc.line(kp))
        return theorem_claims, instruction_claims

    def _claim_units(self, instructions, enums) -> list:
        """The classified units, made by the same :func:`~vverify.spec.units.units_of` the checker uses.

        A claim is checked against the units its name selects; one that selects
        none would be checked against an empty set and so confirm anything.
        Asking ``units_of`` itself (not a copy of its rules) keeps the loader
        and the checker agreeing on which units exist.  The spec is not built
        yet, so ``units_of`` gets a view of the parts it reads.
        """
        from types import SimpleNamespace

        from .units import units_of

        operands = {n: SimpleNamespace(enum=o.get("enum")) for n, o in self.data.get("operands", {}).items()}
        return units_of(SimpleNamespace(instructions=instructions, enums=enums, operands=operands))

    def _selects_nothing(self, name, instr, enums) -> str:
        """Why claim ``name`` (on instruction ``instr``) selects no classified unit, for its error."""
        member = name.partition(".")[2]
        if not member:
            return "the name ends in '.' without a member, so it selects no classified unit"
        var = instr.variants
        width = instr.operands[var]
        enum = self.data["operands"][var]["enum"]
        excluded = instr.encoding.excluded.get(var, [])
        if member == "other":
            named = f"enumeration '{enum}' names" + (" or the encoding excludes" if excluded else "")
            return (f"{named} every value of the {width}-bit operand '{var}', "
                    f"so there is no unit {name} and the claim would be checked against nothing")
        value = enums[enum][member]
        if value in excluded:
            return (f"member '{member}' = {value} is a value the encoding of '{instr.name}' excludes from '{var}', "
                    f"so no unit {name} is classified and the claim would be checked against nothing")
        return (f"member '{member}' = {value} does not fit the {width}-bit operand '{var}', "
                f"so no unit {name} is classified and the claim would be checked against nothing")


def _walk_expr(e):
    yield e
    for c in ir.expr_children(e):
        yield from _walk_expr(c)


def _mmu_reads(body) -> set:
    """The registers a body lowered for a virtualized MMU reads inside its translation, and ``mode``
    whenever the translation is called (the privilege argument compares with it)."""
    pre = semantics.MMU_PREFIX
    return {e.name[len(pre):] for e in ir.walk_exprs(body) if isinstance(e, ir.Reg) and e.name.startswith(pre)}


class _ExcludeError(EncodingError):
    """An instruction's ``exclude`` table is wrong (reported at the field's key)."""

    def __init__(self, field, msg):
        super().__init__(msg)
        self.field = field


def _encoding(idecl):
    """The instruction's encoding, its excluded values in it, and its patterns (Encoding.patterns)."""
    enc = parse_encoding(idecl["encoding"])
    exclude = idecl.get("exclude", {})
    count = sum(len(v) if isinstance(v, list) else 1 for v in exclude.values())
    if count > limits.MAX_EXCLUDED_VALUES:
        raise _ExcludeError(next(iter(exclude)), f"{count} excluded values; an encoding may exclude at most "
                                                 f"{limits.MAX_EXCLUDED_VALUES}")
    for name, values in exclude.items():
        for v in values if isinstance(values, list) else [values]:
            try:
                enc.exclude(name, v)
            except EncodingError as e:
                raise _ExcludeError(name, str(e)) from None
    try:
        enc.pattern_list = enc.patterns(limits.MAX_ENCODING_PATTERNS)
    except EncodingError as e:
        raise _ExcludeError(next(iter(idecl["exclude"])), str(e)) from None
    return enc


def _first_clash(encodings) -> tuple:
    """``((j, i), too_many)``: the first pair of instructions (by declaration, ``i < j``) that some
    word encodes both, or None; and the instruction at which the spec's patterns pass
    :data:`~vverify.spec.limits.MAX_SPEC_PATTERNS` (None if they do not).  Entries of ``encodings``
    that are errors take no part.

    An encoding with excluded values is compared as its patterns (Encoding.patterns), which are
    disjoint, so two patterns of one instruction never clash and a clash is one between instructions.
    """
    from types import SimpleNamespace

    owner, flat, total, too_many = [], [], 0, None
    for k, e in enumerate(encodings):
        if isinstance(e, EncodingError):
            continue
        total += len(e.pattern_list)
        if total > limits.MAX_SPEC_PATTERNS:
            too_many = k
            break
        for m, v in e.pattern_list:
            owner.append(k)
            flat.append(SimpleNamespace(fixed_mask=m, fixed_value=v))
    found = first_overlap(flat)
    if found is None:
        return None, too_many
    j = owner[found[0]]  # the first instruction that clashes with an earlier one; now its first partner
    mine = [p for p, o in zip(flat, owner) if o == j]
    i = next(owner[q] for q, p in enumerate(flat) if owner[q] < j and any(_patterns_overlap(p, x) for x in mine))
    return (j, i), too_many


def _patterns_overlap(a, b) -> bool:
    common = a.fixed_mask & b.fixed_mask
    return (a.fixed_value & common) == (b.fixed_value & common)


def load_spec(path, texts: dict | None = None) -> Spec:
    """Load and check the spec at ``path`` (and the specs it extends).

    ``texts`` maps a file's resolved path to the bytes to use for it instead
    of reading the file: pass a loaded spec's ``sources`` to load exactly the
    text it was loaded from (a worker process classifying what its parent
    hashed, even if the file changed on disk since).
    """
    try:
        return _Loader(Path(path), texts).build()
    except RecursionError:
        raise SpecError(path, 0, "", "the spec nests too deeply to check") from None


def find_specs(paths) -> list:
    """Expand files and directories into a sorted list of spec files.

    A directory contributes every ``*.toml`` under it, at any depth: the
    bundled specs keep one folder per ISA, and so may a user's.
    """
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(p.rglob("*.toml")))
        else:
            out.append(p)
    return out
