"""The gym's admin: the members' pages carry the library's anonymization flow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest

from examples.django_gym.gym.models import Member
from member_anonymization.contrib.django.admin import AnonymizationAdminMixin

if TYPE_CHECKING:
    MemberAdminBase = admin.ModelAdmin[Member]
else:
    MemberAdminBase = admin.ModelAdmin


@admin.register(Member)
class MemberAdmin(AnonymizationAdminMixin, MemberAdminBase):
    """Members by number; "Anonymize" on each member's page."""

    list_display = ("member_no", "first_name", "last_name", "home_club", "anonymized_at")
    search_fields = ("member_no", "last_name")
    readonly_fields = ("anonymized_at",)

    def anonymization_member_id(self, obj: Member) -> str:
        """The public member number is the library's member id."""
        return obj.member_no

    def anonymization_actor(self, request: HttpRequest) -> str:
        """Employees are users by their user name (the adapter's ``Employees``)."""
        return request.user.get_username()
