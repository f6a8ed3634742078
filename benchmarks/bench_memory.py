"""Peak resident memory of loading a large dataset file, and of reading a ZIP bomb.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_memory.py [--size-mb 200] [--bomb-mb 600] [--before REV]
        [--no-before] [--no-bomb]

1. It writes a dataset file of about ``--size-mb`` megabytes: the demo network
   of 1,000 members (``member_anonymization.cli._demo_data``, fixed seed),
   copied with suffixed ids until the file is large enough (clubs and
   employees are shared).
2. It loads the file into a new SQLite database in a child process, and
   reports the child's peak resident set size (``ru_maxrss``) and wall time:

   * ``before``: the command line ``load`` of revision ``--before`` (by
     default the one before ``parse_json`` and ``SqlStore.load_file`` came),
     extracted with ``git archive`` (``--no-before`` leaves it out);
   * ``cli load FILE``: the command line ``load`` of this tree, which streams
     the file through ``SqlStore.load_file``;
   * ``cli load - < FILE``: the same, the file redirected to standard input
     (a stream that can seek: streamed too);
   * ``cli load - (pipe)``: the file piped to standard input (a stream that
     cannot seek, read into memory first);
   * ``SqlStore.load_file``: the streaming load of this tree, called directly.

3. It reads a ZIP bomb (a small archive whose ``export.json`` expands to
   ``--bomb-mb`` megabytes of white space) with ``read_export``, before and
   after, and reports the same figures (``--no-bomb`` leaves it out).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from member_anonymization.cli._demo_data import build_demo_dataset
from member_anonymization.serialization import (
    COLLECTIONS,
    DATASET_FORMAT,
    KINDS,
    unstructure_dataset,
)

ROOT = Path(__file__).resolve().parent.parent
_JSON = "src/member_anonymization/_json.py"
SHARED = frozenset({"clubs", "employees"})
"""Collections written once: every copy of the members refers to the same ones."""


def _id_fields(name: str) -> tuple[str, ...]:
    """The fields of a record of ``name`` that hold an id of a copied record."""
    record_kind = KINDS[name]
    references = tuple(field for field, target in record_kind.references if target not in SHARED)
    return tuple(dict.fromkeys((*record_kind.key_fields, *references)))


def write_dataset(path: Path, size_mb: int, seed: int) -> tuple[int, int]:
    """Write a dataset file of about ``size_mb`` MB; return its records and bytes."""
    base = unstructure_dataset(
        build_demo_dataset(today=dt.date(2026, 1, 1), members=1_000, seed=seed)
    )
    one_copy = len(json.dumps(base, ensure_ascii=False).encode("utf-8"))
    copies = max(1, round(size_mb * 1_000_000 / one_copy))
    records = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(f'{{"format": {json.dumps(DATASET_FORMAT)},\n')
        out.write(f'"network": {json.dumps(base["network"], ensure_ascii=False)}')
        for name in COLLECTIONS:
            out.write(f',\n"{name}": [')
            fields = _id_fields(name)
            separator = "\n"
            for copy in range(1 if name in SHARED else copies):
                for record in base.get(name, []):
                    if name not in SHARED:
                        record = dict(record)
                        for field in fields:
                            if record.get(field) is not None:
                                record[field] = f"{record[field]}-{copy}"
                    out.write(separator + json.dumps(record, ensure_ascii=False))
                    separator = ",\n"
                    records += 1
            out.write("]")
        out.write("}\n")
    return records, path.stat().st_size


def write_bomb(path: Path, size_mb: int) -> int:
    """A ZIP export whose ``export.json`` expands to ``size_mb`` MB; return its size."""
    chunk = b" " * (1 << 20)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("export.json", "w", force_zip64=True) as entry,
    ):
        for _ in range(size_mb * 1_000_000 // len(chunk)):
            entry.write(chunk)
    return path.stat().st_size


LOAD_WITH_CLI = """
import sys
from member_anonymization.cli import main
sys.argv = ["member-anonymization", "--db", sys.argv[1], "load", sys.argv[2]]
main()
"""

LOAD_FILE = """
import sys
from member_anonymization.adapters.sql import SqlStore
store = SqlStore.open(sys.argv[1])
store.create_schema()
print(store.load_file(sys.argv[2]).total, "records")
store.dispose()
"""

READ_EXPORT = """
import sys
from member_anonymization import DatasetError, read_export
try:
    read_export(sys.argv[1])
except DatasetError as error:
    print(error)
"""


def measure(
    code: str, src: Path, *args: str, stdin: Path | None = None, pipe: bool = False
) -> tuple[float, float, int, str]:
    """Run ``code`` in a child on the sources ``src``: peak RSS (MB), seconds, exit code, output.

    ``stdin`` is redirected to the child's standard input, or piped to it by
    ``cat`` when ``pipe``.
    """
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        source: Any = None
        feeder = None
        if stdin is not None and pipe:
            feeder = subprocess.Popen(["cat", str(stdin)], stdout=subprocess.PIPE)
            source = feeder.stdout
        elif stdin is not None:
            source = stack.enter_context(stdin.open("rb"))
        child = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env=env,
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if feeder is not None and feeder.stdout is not None:
            feeder.stdout.close()
        assert child.stdout is not None
        output = child.stdout.read()
        if feeder is not None:
            feeder.wait()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    return usage.ru_maxrss / 1024, seconds, child.returncode, output.strip()[-160:]


def extract(revision: str, into: Path) -> Path | None:
    """The ``src`` folder of ``revision``, or ``None`` when git cannot give it."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "src"],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def before_hardening() -> str:
    """The last revision before the strict, streaming reading of files came."""
    try:
        found = subprocess.run(
            ["git", "-C", str(ROOT), "log", "--diff-filter=A", "--format=%H", "--", _JSON],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "HEAD"
    added = found.stdout.split()
    return f"{added[-1]}^" if added else "HEAD"


def report(label: str, figures: tuple[float, float, int, str]) -> None:
    rss, seconds, code, output = figures
    last = output.splitlines()[-1] if output else ""
    print(f"  {label:<26} peak RSS {rss:8.0f} MB  {seconds:7.1f} s  exit {code}  {last}")


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of the dataset file")
    parser.add_argument("--bomb-mb", type=int, default=600, help="expanded size of the bomb")
    parser.add_argument("--before", default=None, help="revision to compare with")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--no-before", action="store_true", help="leave out the old revision")
    parser.add_argument("--no-bomb", action="store_true", help="leave out the ZIP bomb")
    options = parser.parse_args(argv)
    before_rev = options.before or before_hardening()
    this = ROOT / "src"

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        work = Path(folder)
        (work / "before").mkdir()
        before = None if options.no_before else extract(before_rev, work / "before")
        dataset = work / "dataset.json"
        records, size = write_dataset(dataset, options.size_mb, options.seed)
        print(f"dataset file: {size / 1e6:.0f} MB, {records:,} records")
        if before is not None:
            print(f"before: {before_rev}")
            report(
                "before: cli load",
                measure(LOAD_WITH_CLI, before, str(work / "before.sqlite"), str(dataset)),
            )
        report(
            "cli load FILE",
            measure(LOAD_WITH_CLI, this, str(work / "cli.sqlite"), str(dataset)),
        )
        report(
            "cli load - < FILE",
            measure(LOAD_WITH_CLI, this, str(work / "stdin.sqlite"), "-", stdin=dataset),
        )
        report(
            "cli load - (pipe)",
            measure(LOAD_WITH_CLI, this, str(work / "pipe.sqlite"), "-", stdin=dataset, pipe=True),
        )
        report(
            "SqlStore.load_file",
            measure(LOAD_FILE, this, str(work / "stream.sqlite"), str(dataset)),
        )
        dataset.unlink()
        if options.no_bomb:
            return

        bomb = work / "bomb.zip"
        bomb_size = write_bomb(bomb, options.bomb_mb)
        print(f"ZIP bomb: {bomb_size / 1e3:.0f} KB expanding to {options.bomb_mb} MB")
        if before is not None:
            report("before", measure(READ_EXPORT, before, str(bomb)))
        report("read_export", measure(READ_EXPORT, this, str(bomb)))


if __name__ == "__main__":
    main()
