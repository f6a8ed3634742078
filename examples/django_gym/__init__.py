"""A Django gym application (its own models) and its adapter built on the Django kit.

* ``settings.py``: the project's settings (SQLite in ``IMMEDIATE`` mode, ``USE_TZ``).
* ``gym/``: the app: models, migrations, and ``adapter.py`` (every port of
  :mod:`member_anonymization.ports` over those models).
* ``tests/``: the kit's tests and the library's contract run against the adapter.

See ``docs/django.md``.
"""
