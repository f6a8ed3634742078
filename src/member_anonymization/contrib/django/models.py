"""A table-less model that carries the library's permissions."""

from __future__ import annotations

from django.db import models

from member_anonymization.contrib.django._auth import PERMISSION_CODENAMES, PERMISSION_NAMES


class ErasurePermissions(models.Model):
    """No table: it only declares the permissions ``member_anonymization.<codename>``."""

    class Meta:
        """Unmanaged, with only the library's permissions."""

        managed = False
        default_permissions = ()
        permissions = tuple((PERMISSION_CODENAMES[p], n) for p, n in PERMISSION_NAMES.items())
