"""How ``pytest -n`` (pytest-xdist) shares the tests out among its workers.

With ``--dist loadgroup`` (``make test`` passes it) each test is a unit of its
own, handed to whichever worker is free, except for the groups below, each of
which runs in one piece, in order, on one worker:

* the examples of one documentation page, which share one namespace
  (``docs/conftest.py``);
* the tests of :data:`GROUPS`.

The groups are worked out from the test ids alone, so they hold whatever the
version of pytest (pytest-xdist 3.8 loses ``xdist_group`` marks on pytest 9.2).
Every worker is a session of its own: see ``tests/backends.py`` for its
databases.
"""

from __future__ import annotations

from typing import Any, Final

import pytest

GROUPS: Final = {
    # Every case shares one module-scoped fixture that runs them all side by side.
    "tests/e2e/test_cli.py::test_bad_input[": "e2e-bad-input",
    # Threads and processes racing on real databases, or killed partway: one at a time.
    "tests/integration/test_sql_concurrency.py::": "concurrency",
    "tests/integration/test_sweep_concurrency.py::": "concurrency",
    "tests/integration/test_sweep_kill.py::": "concurrency",
    "tests/integration/test_request_concurrency.py::": "concurrency",
    "tests/integration/test_sql_busy.py::": "concurrency",
    "tests/integration/test_read_paths.py::": "concurrency",
    # Byte scans of database files around server-wide checkpoints.
    "tests/integration/test_sql_residue.py::": "residue",
}
"""Test-id prefixes of the tests that run together, and the name of their group."""


def group_of(nodeid: str) -> str | None:
    """The group of the test with this id, if it belongs to one."""
    path = nodeid.partition("::")[0]
    if path.endswith(".md"):
        return f"page:{path}"
    return next((group for prefix, group in GROUPS.items() if nodeid.startswith(prefix)), None)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With ``--dist loadgroup``: one unit per test, except for the groups of :func:`group_of`."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class Groups(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or super()._split_scope(nodeid)

    return Groups(config, log)
