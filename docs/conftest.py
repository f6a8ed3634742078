"""The documentation's Python examples, run as tests so that they cannot rot.

Sybil collects every ```` ```python ```` block of ``docs/**/*.md``; the blocks of
a page run in order, in one namespace, inside a fresh temporary folder (so
examples may write files such as ``m1-export.zip``). A block that starts with
``>>>`` is a doctest: its printed output is compared too.

A page prepares what its examples assume (a store, a dataset, a database) in
hidden blocks that the built site does not show::

    <!-- invisible-code-block: python
    store = InMemoryStore(structure_dataset(json.loads(SPEC_EXAMPLE.read_text())))
    -->

and a sketch that cannot run is preceded by ``<!-- skip: next -->``. Console,
JSON, SQL and text blocks are not run.

Every page's namespace starts with ``ROOT`` (the repository) and
``SPEC_EXAMPLE`` (``tests/data/spec_example.json``, one record of every kind).
"""

from __future__ import annotations

import doctest
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from sybil import Sybil
from sybil.parsers.myst import PythonCodeBlockParser, SkipParser

ROOT = Path(__file__).resolve().parent.parent

# The integration guide's examples import the host application of ``examples/``.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _enter_folder(namespace: dict[str, Any]) -> None:
    """Run the page in a new temporary folder; give it the repository's paths."""
    folder = Path(tempfile.mkdtemp(prefix="member-anonymization-docs-"))
    namespace["_docs_previous_folder"] = Path.cwd()
    namespace["_docs_folder"] = folder
    namespace["ROOT"] = ROOT
    namespace["SPEC_EXAMPLE"] = ROOT / "tests" / "data" / "spec_example.json"
    os.chdir(folder)


def _leave_folder(namespace: dict[str, Any]) -> None:
    """Go back to the previous folder and remove the page's folder."""
    os.chdir(namespace["_docs_previous_folder"])
    shutil.rmtree(namespace["_docs_folder"], ignore_errors=True)


pytest_collect_file = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
        SkipParser(),
    ],
    patterns=["*.md"],
    excludes=["_build/*"],
    setup=_enter_folder,
    teardown=_leave_folder,
).pytest()
