"""Where the library is loaded from: $THUNDER_LIB, else next to the package."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import thunder

PACKAGE = Path(thunder.__file__).resolve().parent
PROBE = "import thunder, sys; sys.stdout.write(thunder.library_path)"


def run(env_lib, cwd, pythonpath):
    env = {k: v for k, v in os.environ.items() if k not in ("THUNDER_LIB", "PYTHONPATH")}
    if env_lib is not None:
        env["THUNDER_LIB"] = env_lib
    env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True)


def test_thunder_lib_names_the_library(tmp_path):
    r = run(str(tmp_path / "missing.so"), tmp_path, PACKAGE.parent)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "missing.so" in r.stderr


def test_library_next_to_the_package(tmp_path):
    # A copy of the package outside the repository, with the library in it.
    shutil.copytree(PACKAGE, tmp_path / "thunder", ignore=shutil.ignore_patterns("__pycache__"))
    lib = Path(thunder.library_path).resolve()
    shutil.copy(lib, tmp_path / "thunder" / "libthunder.so")
    r = run(None, tmp_path, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == str(tmp_path / "thunder" / "libthunder.so")
