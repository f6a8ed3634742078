"""A small existing gym application, with its own SQLite schema, and its adapter.

* ``schema.sql``: the application's schema (Polish names, one ``people`` table
  for members and employees, money in grosze, instants as UTC epoch seconds
  plus an offset).
* :mod:`examples.gym_app.app`: opening the database and a tiny seed.
* :mod:`examples.gym_app.mapping`: rows to the library's records and back.
* :mod:`examples.gym_app.adapter`: every protocol of
  :mod:`member_anonymization.ports` over that schema, with the standard
  library's :mod:`sqlite3`.
* ``tests/``: the library's contract tests run against the adapter, and
  end-to-end tests that read the application's own tables.

See ``docs/integration.md``.
"""
