import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import thunder  # noqa: E402


@pytest.fixture
def db(tmp_path):
    """A fresh database; checked for integrity and closed after the test."""
    d = thunder.open(tmp_path / "test.db")
    yield d
    if not d.closed:
        d.check()
        d.close()
