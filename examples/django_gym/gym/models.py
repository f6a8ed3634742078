"""The gym's own models: integer keys, a public ``member_no``, files, ``""`` blanks."""

from __future__ import annotations

from django.db import models


class Club(models.Model):
    """A club of the network; ``code`` is its public id."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=60)
    uses_debt_collection = models.BooleanField(default=False)
    retention_months = models.PositiveIntegerField(null=True, blank=True)


class Member(models.Model):
    """A member; ``member_no`` is the public number (the library's member id)."""

    member_no = models.CharField(max_length=40, unique=True)
    home_club = models.ForeignKey(Club, on_delete=models.PROTECT, related_name="members")
    registered_on = models.DateField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    # Unique: the anonymized placeholder writes NULL here, never "".
    email = models.EmailField(unique=True, null=True, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    national_id = models.CharField(max_length=40, blank=True)
    street = models.CharField(max_length=200, null=True, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=100, blank=True)
    photo = models.FileField(upload_to="photos/", blank=True)
    photo_type = models.CharField(max_length=100, blank=True)
    restrict_processing = models.BooleanField(default=False)
    anonymized_at = models.DateTimeField(null=True, blank=True)
