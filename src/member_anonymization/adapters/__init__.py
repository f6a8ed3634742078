"""Adapters that implement the ports over real storage.

``member_anonymization.adapters.sql`` is the reference database adapter
(SQLAlchemy Core; SQLite and PostgreSQL). It needs the ``sql`` extra (and
``postgres`` for PostgreSQL); importing this package alone needs neither.
"""
