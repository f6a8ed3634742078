"""The Django kit: transactions, locks, files, the signal, instants, blanks, permissions."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission as AuthPermission
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, connections, transaction
from django.test import override_settings

from examples.django_gym.gym.models import Club, Member
from examples.django_gym.tests.harness import routed
from member_anonymization.contrib.django import (
    DjangoUnitOfWork,
    OuterTransactionError,
    SqliteModeError,
    aware,
    blank_to_none,
    employee_from_user,
    has_permission,
    member_anonymized,
    none_to_blank,
    permission_name,
    to_club_time,
    to_database,
)
from member_anonymization.domain import Permission
from member_anonymization.errors import MemberAnonymizationError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def club() -> Club:
    return Club.objects.create(code="c1", name="Club", timezone="Europe/Warsaw")


def _member(club: Club, number: str, **fields: Any) -> Member:
    return Member.objects.create(
        member_no=number, home_club=club, registered_on=dt.date(2024, 1, 1), **fields
    )


def _names() -> list[str]:
    return sorted(Member.objects.values_list("member_no", flat=True))


def _in_transaction() -> bool:
    return bool(transaction.get_connection().in_atomic_block)


def test_entering_begins_nothing_until_first_use(club: Club) -> None:
    with DjangoUnitOfWork() as uow:
        assert not _in_transaction()
        uow.begin()
        assert _in_transaction()
        uow.commit()
        assert not _in_transaction()
    assert connection.get_autocommit()


def test_commit_persists_and_leaving_without_commit_rolls_back(club: Club) -> None:
    with DjangoUnitOfWork() as uow:
        uow.begin()
        _member(club, "m1")
        uow.commit()
        uow.begin()
        _member(club, "m2")
    assert _names() == ["m1"]


def test_rollback_then_continue_then_commit(club: Club) -> None:
    with DjangoUnitOfWork() as uow:
        uow.begin()
        _member(club, "m1")
        uow.rollback()
        uow.begin()
        _member(club, "m2")
        uow.commit()
    assert _names() == ["m2"]


def test_an_exception_rolls_back(club: Club) -> None:
    def fail() -> None:
        with DjangoUnitOfWork() as uow:
            uow.begin()
            _member(club, "m1")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail()
    assert _names() == []


def test_refuses_an_outer_atomic_block() -> None:
    with transaction.atomic(), pytest.raises(OuterTransactionError) as caught:
        DjangoUnitOfWork().__enter__()
    assert isinstance(caught.value, MemberAnonymizationError)


def test_refuses_sqlite_without_immediate_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {})
    with pytest.raises(SqliteModeError):
        DjangoUnitOfWork().__enter__()


def test_sqlite_holds_the_write_lock_until_the_end(club: Club) -> None:
    path = str(connection.settings_dict["NAME"])
    other = sqlite3.connect(path, timeout=0)
    try:
        with DjangoUnitOfWork() as uow:
            assert [m.member_no for m in uow.lock_rows(Member.objects.all())] == []
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("UPDATE gym_club SET name = 'x'")
            uow.commit()
        other.execute("UPDATE gym_club SET name = 'x'")
        other.rollback()
    finally:
        other.close()


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Path]:
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


@pytest.mark.parametrize("commit", [True, False])
def test_files_are_deleted_only_after_the_commit(club: Club, media: Path, commit: bool) -> None:
    member = _member(club, "m1")
    member.photo.save("p.jpg", ContentFile(b"jpeg"))
    path = Path(member.photo.path)
    with DjangoUnitOfWork() as uow:
        uow.delete_files_on_commit([member.photo])
        assert path.exists()
        if commit:
            uow.commit()
    assert path.exists() is not commit


def test_the_signal_is_sent_after_the_commit_only() -> None:
    received: list[tuple[str, ...]] = []

    def receiver(sender: object, member_ids: tuple[str, ...], **_: object) -> None:
        received.append(member_ids)

    member_anonymized.connect(receiver)
    try:
        with DjangoUnitOfWork() as uow:
            uow.notify_anonymized(["m1"])
            assert received == []
        with DjangoUnitOfWork() as uow:
            uow.notify_anonymized(["m2", "m3"])
            uow.commit()
    finally:
        member_anonymized.disconnect(receiver)
    assert received == [("m2", "m3")]


def test_a_unique_email_takes_null_blanks_not_empty_strings(club: Club) -> None:
    _member(club, "m1", email=blank_to_none(""))
    _member(club, "m2", email=blank_to_none(""))
    _member(club, "m3", email="")
    with pytest.raises(IntegrityError):
        _member(club, "m4", email="")


def test_blanks() -> None:
    assert blank_to_none("") is None
    assert blank_to_none("a") == "a"
    assert none_to_blank(None) == ""
    assert none_to_blank("a") == "a"


def test_instants_in_the_club_time_zone() -> None:
    utc = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
    local = to_club_time(utc, "Europe/Warsaw")
    assert local == utc
    assert local.utcoffset() == dt.timedelta(hours=1)
    with override_settings(USE_TZ=False, TIME_ZONE="Europe/Warsaw"):
        naive = to_database(utc)
        assert naive == dt.datetime(2025, 1, 15, 10, 0)
        assert aware(naive) == utc
    assert to_database(utc) is utc


def test_permissions_through_django_auth() -> None:
    user = User.objects.create_user("e1", first_name="Ewa", last_name="Nowak")
    assert not has_permission(user, Permission.ANONYMIZE_MEMBER)
    user.user_permissions.add(
        AuthPermission.objects.get(
            content_type__app_label="member_anonymization", codename="anonymize_member"
        )
    )
    user = User.objects.get(pk=user.pk)
    assert user.has_perm(permission_name(Permission.ANONYMIZE_MEMBER))
    employee = employee_from_user(user, employee_id="e1")
    assert employee.id == "e1"
    assert employee.name == "Ewa Nowak"
    assert employee.permissions == frozenset({Permission.ANONYMIZE_MEMBER})


HAS_POSTGRES = "postgres" in settings.DATABASES


def _lock_all_skipping() -> list[str]:
    """Another worker (thread, connection) locking every member it can get."""
    try:
        with DjangoUnitOfWork(using="postgres") as uow:
            rows = uow.lock_rows(Member.objects.order_by("member_no"), skip_locked=True)
            return [row.member_no for row in rows]
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.skipif(not HAS_POSTGRES, reason="no PostgreSQL server answers")
@pytest.mark.django_db(transaction=True, databases=["postgres"] if HAS_POSTGRES else [])
def test_postgres_locks_the_rows_until_the_end() -> None:
    import psycopg

    with routed("postgres"):
        club = Club.objects.create(code="c1", name="Club", timezone="Europe/Warsaw")
        _member(club, "m1")
        _member(club, "m2")
    database = connections["postgres"].settings_dict
    other = psycopg.connect(
        host=database["HOST"], port=database["PORT"], dbname=database["NAME"],
        user=database["USER"], autocommit=True,
    )  # fmt: skip
    lock = "SELECT member_no FROM gym_member WHERE member_no = 'm1' FOR UPDATE NOWAIT"
    try:
        with DjangoUnitOfWork(using="postgres") as uow:
            rows = uow.lock_rows(Member.objects.filter(member_no="m1"))
            assert [row.member_no for row in rows] == ["m1"]
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(lock)
            with ThreadPoolExecutor(1) as pool:
                assert pool.submit(_lock_all_skipping).result() == ["m2"]
        assert other.execute(lock).fetchall() == [("m1",)]
    finally:
        other.close()
