"""The admin's test data: a blocked and an eligible member, staff with and without permissions."""

from __future__ import annotations

import datetime as dt
from typing import Final

from django.contrib.auth.models import Permission, User
from tests import builders as b

from examples.django_gym.tests.harness import DjangoGymHarness
from member_anonymization.domain import Permission as LibraryPermission
from member_anonymization.serialization import Dataset

ELIGIBLE: Final = "K-1001"
"""Eligible, with an unpaid purchase (a warning, so a reminder) and a full profile."""

BLOCKED: Final = "K-2002"
"""Blocked by a running open-ended contract and money in the wallet."""

MANAGER: Final = "manager"
"""Staff who may change members, anonymize them and export their data."""

CLERK: Final = "clerk"
"""Staff who may only view members."""

PASSWORD: Final = "not-a-real-password-7"


def gym_dataset() -> Dataset:
    """Two members of one club, a manager and a clerk."""
    return b.dataset(
        b.club("c1", uses_debt_collection=False),
        b.member(ELIGIBLE),
        *b.profile_records(ELIGIBLE),
        b.purchase("p-unpaid", member_id=ELIGIBLE, paid=False),
        b.member(
            BLOCKED,
            personal_data=b.personal(first_name="Jadwiga", email="jadwiga@example.com"),
            with_photo=False,
        ),
        b.contract("k-running", member_id=BLOCKED, start=dt.date(2026, 1, 1), end=None),
        b.wallet("25.00", member_id=BLOCKED),
        b.employee(MANAGER, name="Maria Manager"),
        b.employee(CLERK, name="Karol Clerk", permissions=()),
    )


def load_gym(using: str = "default", *, password: str | None = None) -> None:
    """The dataset in the database; both employees become staff who may view members.

    Args:
        using: The database alias.
        password: The users' password, for a login through the form (hashing costs time).
    """
    DjangoGymHarness(using).build(gym_dataset())
    permissions = Permission.objects.using(using).filter(content_type__app_label="gym")
    view = permissions.get(codename="view_member")
    for user in User.objects.using(using).all():
        user.is_staff = True
        if password is not None:
            user.set_password(password)
        user.save(using=using)
        user.user_permissions.add(view)
    manager = User.objects.using(using).get(username=MANAGER)
    manager.user_permissions.add(permissions.get(codename="change_member"))
    assert manager.has_perm(f"member_anonymization.{LibraryPermission.ANONYMIZE_MEMBER.value}")
