"""The staff's anonymization flow in the Django admin, for the host's member model.

Mix :class:`AnonymizationAdminMixin` into the member model's ``ModelAdmin``: a
member's change page gets an "Anonymize" link (for staff holding the library's
``anonymize_member`` permission), which opens a page showing every blocker and
warning in the active language, what will be removed and what stays, a button
that downloads the member's export (JSON, for staff holding
``export_member_data``) and the confirmation form. After the anonymization the
member's change page shows the result and the reminders created::

    @admin.register(Member)
    class MemberAdmin(AnonymizationAdminMixin, admin.ModelAdmin):
        def anonymization_member_id(self, obj):
            return obj.member_no

The unit-of-work factory is :attr:`~AnonymizationAdminMixin.anonymization_unit_of_work`,
or the setting ``MEMBER_ANONYMIZATION_UNIT_OF_WORK`` (its dotted path). The views
run outside of ``ATOMIC_REQUESTS``: the unit of work commits on its own.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Final

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connections, transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.module_loading import import_string
from django.utils.translation import get_language

from member_anonymization.anonymizer import (
    AnonymizationOptions,
    Anonymized,
    Anonymizer,
    NotPermitted,
    Refused,
)
from member_anonymization.contrib.django._auth import has_permission
from member_anonymization.domain import Permission
from member_anonymization.export import Exporter, ExportFormat, ExportNotPermitted
from member_anonymization.messages import ENGLISH, LANGUAGES, Language, text
from member_anonymization.ports import UnitOfWork
from member_anonymization.preview import preview_anonymization

__all__ = ["AnonymizationAdminMixin", "catalogue_language"]

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _Base = ModelAdmin[Any]
else:
    _Base = object

_UNSAFE_FILE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")

TEMPLATE: Final = "member_anonymization/admin/anonymize.html"
CHANGE_FORM_TEMPLATE: Final = "member_anonymization/admin/change_form.html"


def catalogue_language(django_language: str | None = None) -> Language:
    """The catalogue's language for a Django language code (the active one by default).

    ``"pl"``, ``"pl-pl"`` give Polish; a language the catalogue lacks gives English.
    """
    code = (django_language or get_language() or ENGLISH).lower()
    for candidate in (code, code.split("-")[0].split("_")[0]):
        if candidate in LANGUAGES:
            return candidate
    return ENGLISH


class AnonymizationAdminMixin(_Base):
    """Adds the anonymization flow to the ``ModelAdmin`` of the host's member model.

    Put it before ``admin.ModelAdmin`` in the bases. Override
    :meth:`anonymization_member_id` when the library's member id is not the
    primary key, and :meth:`anonymization_actor` when the employee id is not the
    user's primary key (as :func:`~member_anonymization.contrib.django.employee_from_user`
    gives by default). A host with its own ``change_form_template`` extends
    ``member_anonymization/admin/change_form.html`` to keep the link.

    Attributes:
        anonymization_unit_of_work: The unit-of-work factory, or its dotted path;
            ``None`` reads the setting ``MEMBER_ANONYMIZATION_UNIT_OF_WORK``.
        anonymization_options: The club's options (``delete_all_notes`` changes
            what the page says goes, and what goes).
    """

    anonymization_unit_of_work: Callable[[], UnitOfWork] | str | None = None
    anonymization_options: AnonymizationOptions | None = None
    anonymization_template: str = TEMPLATE
    change_form_template: ClassVar[str | None] = CHANGE_FORM_TEMPLATE

    # -- what a host overrides ---------------------------------------------------------------

    def anonymization_member_id(self, obj: Any) -> str:
        """The library's member id of a row (its primary key by default)."""
        return str(obj.pk)

    def anonymization_actor(self, request: HttpRequest) -> str:
        """The library's employee id of the user acting (their primary key by default)."""
        return str(request.user.pk)

    def has_anonymize_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether the user may see and use the flow: view access and ``anonymize_member``."""
        return self.has_view_or_change_permission(request, obj) and has_permission(
            request.user, Permission.ANONYMIZE_MEMBER
        )

    def has_export_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Whether the user may download the export: view access and ``export_member_data``."""
        return self.has_view_or_change_permission(request, obj) and has_permission(
            request.user, Permission.EXPORT_MEMBER_DATA
        )

    # -- wiring ------------------------------------------------------------------------------

    def anonymization_factory(self) -> Callable[[], UnitOfWork]:
        """The unit-of-work factory the views use.

        Raises:
            ImproperlyConfigured: Neither the attribute nor the setting names one.
        """
        factory = self.anonymization_unit_of_work or getattr(
            settings, "MEMBER_ANONYMIZATION_UNIT_OF_WORK", None
        )
        if factory is None:
            raise ImproperlyConfigured(
                "set MEMBER_ANONYMIZATION_UNIT_OF_WORK or the admin's anonymization_unit_of_work"
            )
        if isinstance(factory, str):
            loaded: Callable[[], UnitOfWork] = import_string(factory)
            return loaded
        return factory

    def _url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def _wrap(self, view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        wrapped = self.admin_site.admin_view(view)
        for alias in connections:
            wrapped = transaction.non_atomic_requests(using=alias)(wrapped)
        return wrapped

    def get_urls(self) -> list[URLPattern]:
        """The anonymization's two URLs before the admin's own."""
        ours = [
            path(
                "<path:object_id>/anonymize/",
                self._wrap(self.anonymize_view),
                name=self._url_name("anonymize"),
            ),
            path(
                "<path:object_id>/anonymize/export/",
                self._wrap(self.anonymize_export_view),
                name=self._url_name("anonymize_export"),
            ),
        ]
        return ours + list(super().get_urls())

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The change page, with the "Anonymize" link for staff who may use it."""
        context = dict(extra_context or {})
        if self.has_anonymize_permission(request):
            context["anonymize_url"] = reverse(
                f"{self.admin_site.name}:{self._url_name('anonymize')}", args=[object_id]
            )
            context["anonymize_label"] = text("django.admin.action", catalogue_language())
        return super().change_view(request, object_id, form_url, extra_context=context)

    # -- the views ---------------------------------------------------------------------------

    def _member(self, request: HttpRequest, object_id: str) -> Any:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("no such member")
        return obj

    def _change_url(self, obj: Any) -> str:
        return reverse(f"{self.admin_site.name}:{self._url_name('change')}", args=[obj.pk])

    def anonymize_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: the preview and the confirmation form; POST: anonymize.

        Raises:
            PermissionDenied: The user may not anonymize members (403).
        """
        if not self.has_anonymize_permission(request):
            raise PermissionDenied
        obj = self._member(request, object_id)
        if request.method == "POST" and request.POST.get("post") == "yes":
            return self._anonymize(request, obj)
        lang = catalogue_language()
        member_id = self.anonymization_member_id(obj)
        shown = preview_anonymization(
            self.anonymization_factory(),
            member_id,
            lang=lang,
            options=self.anonymization_options,
        )
        verdict = "eligible" if shown.eligible else "not_eligible"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": text("django.admin.title", lang, member_id=member_id),
            "verdict": text(f"cli.check.{verdict}", lang, member_id=member_id, as_of=shown.as_of),
            "preview": shown,
            "change_url": self._change_url(obj),
            "export_url": reverse(
                f"{self.admin_site.name}:{self._url_name('anonymize_export')}", args=[obj.pk]
            )
            if self.has_export_permission(request, obj)
            else None,
            "texts": {
                key: text(f"django.admin.{key}", lang)
                for key in ("blockers", "warnings", "export", "confirm", "cancel")
            }
            | {
                "removed_title": text("cli.preview.title", lang),
                "kept_title": text("preview.kept.title", lang),
                "irreversible": text("cli.confirm.warning", lang),
                "question": text("cli.confirm.question", lang, member_id=member_id),
            },
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.anonymization_template, context)

    def _anonymize(self, request: HttpRequest, obj: Any) -> HttpResponse:
        lang = catalogue_language()
        member_id = self.anonymization_member_id(obj)
        anonymizer = Anonymizer(self.anonymization_factory(), options=self.anonymization_options)
        result = anonymizer.anonymize(member_id, actor=self.anonymization_actor(request))
        match result:
            case NotPermitted():
                raise PermissionDenied
            case Refused():
                messages.error(request, text("cli.anonymize.refused", lang, member_id=member_id))
                return HttpResponseRedirect(request.path)
            case Anonymized(removed=removed, warnings=warnings):
                messages.success(request, text("cli.anonymize.done", lang, member_id=member_id))
                messages.info(
                    request,
                    text(
                        "django.admin.removed",
                        lang,
                        photo=removed.photo,
                        log_entries=removed.log_entries,
                        documents=removed.documents,
                        measurements=removed.measurements,
                        exercises=removed.exercises,
                        notes=removed.notes,
                    ),
                )
                for warning in warnings:
                    messages.warning(
                        request,
                        text("django.admin.reminder", lang, message=warning.message(lang)),
                    )
        return HttpResponseRedirect(self._change_url(obj))

    def anonymize_export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: the member's export as a JSON download (audited by the library).

        Raises:
            PermissionDenied: The user may not export member data (403).
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_export_permission(request):
            raise PermissionDenied
        obj = self._member(request, object_id)
        member_id = self.anonymization_member_id(obj)
        buffer = io.BytesIO()
        result = Exporter(self.anonymization_factory()).export(
            member_id, buffer, actor=self.anonymization_actor(request), format=ExportFormat.JSON
        )
        if isinstance(result, ExportNotPermitted):
            raise PermissionDenied
        name = _UNSAFE_FILE_NAME.sub("_", member_id)[:80] or "member"
        response = HttpResponse(buffer.getvalue(), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}-export.json"'
        response["Cache-Control"] = "no-store"
        return response
