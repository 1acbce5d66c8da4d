"""vverify installs as a wheel: the bundled specs and guest programs travel with it.

The project's layout keeps the specs at the repository's top level
(``specs/``, one folder per ISA); pyproject.toml maps that folder to the
package ``vverify.bundled_specs`` and lists every package by hand.  The
first test keeps that list complete; the second builds a wheel from this
checkout, installs it into a fresh virtual environment and runs the tool
from an empty directory outside the checkout, where nothing but the
installed package can supply a spec, a boot stub or a workload.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import _SESSION_PROOFS, ROOT, SPEC_FILES


def test_the_licence_is_an_spdx_expression_and_travels_with_the_wheel():
    """PEP 639: ``license`` is an SPDX expression (setuptools >= 77 writes it as License-Expression)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert any(r.replace(" ", "").startswith("setuptools>=77") for r in requires), requires


def test_pyproject_lists_every_package():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "vverify").rglob("__init__.py")}
    assert listed == found | {"vverify.bundled_specs"}


def _run(argv, cwd, env, timeout=900):
    p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.mark.slow
def test_a_built_wheel_works_from_an_empty_directory(tmp_path):
    dist = tmp_path / "dist"
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
                 tmp_path, dict(os.environ))
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("vverify-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for spec in SPEC_FILES:
        assert f"vverify/bundled_specs/{spec.relative_to(ROOT / 'specs').as_posix()}" in names, spec
    assert "vverify/bundled_specs/riscv32/boot.s" in names and "vverify/guests/abi.s" in names
    assert "vverify/bundled_specs/x86_32/bench/syscall.s" in names and "vverify/spec/spec.schema.json" in names
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    assert "License-Expression: MIT" in zipfile.ZipFile(wheel).read(metadata).decode()

    # a fresh environment holding only the wheel; its dependencies are this environment's,
    # reached through a path entry (a .pth line adds a directory without running its .pth files,
    # so this checkout's own editable install stays out of it; its metadata does not, and pip, seeing
    # "vverify 0.1.0 already installed" there, would skip the wheel: hence --ignore-installed)
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, dict(os.environ)).returncode == 0
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp_path, dict(os.environ)).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    inst = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--ignore-installed",
                 "--quiet", str(wheel)], tmp_path, dict(os.environ))
    assert inst.returncode == 0, inst.stderr

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", *_SESSION_PROOFS)}
    env.update({k: v for k, v in _SESSION_PROOFS.items() if v is not None})  # the session's proofs: no cold solve
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    where = _run([str(python), "-c", "import vverify, vverify.spec.bundled as b; print(vverify.__file__); "
                  "print(b.bundled_dir())"], empty, env)
    assert str(ROOT) not in where.stdout and str(venv) in where.stdout, where.stdout

    check = _run(["vverify", "check"], empty, env)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr
    for spec in SPEC_FILES:
        assert f"{spec.stem} —" in check.stdout, spec.stem

    assert _run(["vverify", "check", "pg74"], empty, env).returncode == 0
    fuzz = _run(["vverify", "fuzz", "riscv32", "-t", "trap-and-emulate", "-n", "5"], empty, env)
    assert fuzz.returncode == 0 and "no divergence" in fuzz.stdout, fuzz.stdout + fuzz.stderr
    (empty / "out").mkdir()
    bench = _run(["vverify", "bench", "--fast", "--spec", "pg74", "--technique", "native", "--workload", "syscall",
                  "-o", "out/bench.json"], empty, {**env, "PYTHONHASHSEED": "0"})
    assert bench.returncode == 0, bench.stdout + bench.stderr
    assert (empty / "out" / "REPORT.md").is_file()

    matrix = _run(["vverify", "matrix", "pg74", "-n", "3", "-o", "out/matrix"], empty, env)
    assert matrix.returncode == 0, matrix.stdout + matrix.stderr
    assert (empty / "out" / "matrix" / "matrix.json").is_file()

    # a user's project with specs/ of its own: the wheel's pytest plugin collects them
    shutil.copytree(ROOT / "specs" / "pg74", empty / "specs" / "pg74")
    plugin = _run([str(python), "-m", "pytest", "specs/", "-q", "-p", "no:cacheprovider"], empty, env)
    assert plugin.returncode == 0, plugin.stdout[-2000:] + plugin.stderr
    assert "specs/pg74/pg74.toml" in _run([str(python), "-m", "pytest", "specs/", "--collect-only", "-q",
                                           "-p", "no:cacheprovider"], empty, env).stdout
