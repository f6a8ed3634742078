"""The example's URLs: the admin, with the anonymization flow on the members' pages."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

admin.site.site_header = "Gym administration"

urlpatterns = [path("admin/", admin.site.urls)]
