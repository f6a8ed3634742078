"""Employees as Django users, the library's permissions as Django permissions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from member_anonymization.domain import Employee, Permission

PERMISSION_APP_LABEL: Final = "member_anonymization"
"""The app label of the library's permissions (``member_anonymization.contrib.django``)."""

PERMISSION_CODENAMES: Final[dict[Permission, str]] = {p: p.value for p in Permission}
"""Each permission's Django codename (``anonymize_member``, ``export_member_data``, ...)."""

PERMISSION_NAMES: Final[dict[Permission, str]] = {
    Permission.ANONYMIZE_MEMBER: "Can anonymize a member",
    Permission.EXPORT_MEMBER_DATA: "Can export a member's data",
    Permission.HANDLE_ERASURE_REQUESTS: "Can handle erasure requests",
}


def permission_name(permission: Permission) -> str:
    """The ``app_label.codename`` that ``user.has_perm`` takes."""
    return f"{PERMISSION_APP_LABEL}.{PERMISSION_CODENAMES[permission]}"


def has_permission(user: Any, permission: Permission) -> bool:
    """Whether the Django user holds the library's permission (through ``has_perm``)."""
    return bool(user.is_active and user.has_perm(permission_name(permission)))


def employee_from_user(user: Any, *, employee_id: str | None = None) -> Employee:
    """The user as the library's employee, with the permissions ``has_perm`` grants.

    Args:
        user: A Django user (``AbstractBaseUser`` with ``PermissionsMixin``).
        employee_id: The id to use; the user's primary key as text by default.
    """
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return Employee(
        id=employee_id if employee_id is not None else str(user.pk),
        name=name or user.get_username(),
        permissions=frozenset(p for p in Permission if has_permission(user, p)),
    )


def grant_permissions(user: Any, permissions: Iterable[Permission]) -> None:
    """Give a saved Django user the library's ``permissions`` (its other ones are kept)."""
    from django.contrib.auth.models import Permission as DjangoPermission

    codenames = [PERMISSION_CODENAMES[p] for p in permissions]
    found = DjangoPermission.objects.using(user._state.db).filter(
        content_type__app_label=PERMISSION_APP_LABEL, codename__in=codenames
    )
    user.user_permissions.add(*found)
