"""The core package never imports SQLAlchemy: the SQL adapter is an optional extra."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROGRAM = """
import sys
import member_anonymization
import member_anonymization.adapters
import member_anonymization.testing
assert "sqlalchemy" not in sys.modules, "SQLAlchemy was imported"
import member_anonymization.adapters.sql
assert "sqlalchemy" in sys.modules
print("ok")
"""


def test_importing_the_core_does_not_import_sqlalchemy() -> None:
    """`import member_anonymization` (and `.adapters`) leaves SQLAlchemy unloaded."""
    pytest.importorskip("sqlalchemy")
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
