"""What `vverify check` says about a proof-cache entry it does not use: one line, then it solves."""

import os
import shutil
import subprocess
import sys

from tests.conftest import ROOT, spec_path
from vverify.check import cache
from vverify.check.run import DEFAULT_TIMEOUT_MS
from vverify.files import cache_dir
from vverify.spec.loader import load_spec


def test_a_corrupt_entry_is_one_line_on_stderr(tmp_path):
    spec = tmp_path / "pdp10.toml"
    shutil.copy(spec_path("pdp10"), spec)
    entry = cache_dir() / f"{cache.key(load_spec(spec).verdict_digest, DEFAULT_TIMEOUT_MS)}.json"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"\xff\xfe not JSON, not even UTF-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    p = subprocess.run([sys.executable, "-m", "vverify", "check", str(spec)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines() == [f"vverify: ignoring corrupt cache entry {entry} "
                                     f"('utf-8' codec can't decode byte 0xff in position 0: invalid start byte)"]
