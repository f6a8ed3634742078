"""The admin's anonymization flow through Django's test client: every branch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from examples.django_gym.gym import models as g
from examples.django_gym.tests.staff import BLOCKED, CLERK, ELIGIBLE, MANAGER, load_gym
from member_anonymization.messages import text
from member_anonymization.policy import ActiveContract

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def gym(tmp_path: Path) -> Iterator[None]:
    """A blocked and an eligible member and two staff users; files in the test's folder."""
    with override_settings(MEDIA_ROOT=tmp_path):
        load_gym()
        yield


def _client(username: str, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(User.objects.get(username=username))
    return client


def _pk(member_no: str) -> int:
    return g.Member.objects.get(member_no=member_no).pk


def _url(name: str, member_no: str) -> str:
    return reverse(f"admin:gym_member_{name}", args=[_pk(member_no)])


def _page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def test_staff_without_the_permission_see_no_action() -> None:
    """A clerk's member page has no "Anonymize" link."""
    page = _page(_client(CLERK).get(_url("change", ELIGIBLE)))
    assert 'id="anonymize-link"' not in page
    assert _url("anonymize", ELIGIBLE) not in page


def test_staff_without_the_permission_are_refused_the_urls() -> None:
    """The clerk gets 403 on the page, the confirmation and the export; nothing changes."""
    client = _client(CLERK)
    assert client.get(_url("anonymize", ELIGIBLE)).status_code == 403
    assert client.post(_url("anonymize", ELIGIBLE), {"post": "yes"}).status_code == 403
    assert client.post(_url("anonymize_export", ELIGIBLE)).status_code == 403
    assert g.Member.objects.get(member_no=ELIGIBLE).anonymized_at is None
    assert not g.AuditEntry.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login() -> None:
    """Without a session the admin's login page answers."""
    response = Client().get(_url("anonymize", ELIGIBLE))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_staff_with_the_permission_see_the_action() -> None:
    """The manager's member page links to the anonymization page."""
    page = _page(_client(MANAGER).get(_url("change", ELIGIBLE)))
    assert 'id="anonymize-link"' in page
    assert f'href="{_url("anonymize", ELIGIBLE)}"' in page


def test_a_blocked_member_shows_every_blocker_and_no_confirmation() -> None:
    """Both blockers with their codes and English messages; no confirm button."""
    page = _page(_client(MANAGER).get(_url("anonymize", BLOCKED)))
    assert 'data-eligible="false"' in page
    assert 'data-code="active_contract"' in page
    assert 'data-code="wallet_funds"' in page
    assert "wallet holds 25.000 PLN." in page  # the gym stores money with 3 decimals
    assert 'id="confirm-anonymize"' not in page
    assert 'id="download-export"' in page


def test_confirming_a_blocked_member_is_refused() -> None:
    """A forged confirmation is refused by the library and changes nothing."""
    client = _client(MANAGER)
    response = client.post(_url("anonymize", BLOCKED), {"post": "yes"}, follow=True)
    page = _page(response)
    refused = text("cli.anonymize.refused", "en", member_id=BLOCKED)
    assert refused in page
    assert g.Member.objects.get(member_no=BLOCKED).anonymized_at is None


def test_an_eligible_member_shows_what_goes_what_stays_and_the_warning() -> None:
    """The page lists the removal, what stays, the warning, the export and the confirmation."""
    page = _page(_client(MANAGER).get(_url("anonymize", ELIGIBLE)))
    assert 'data-eligible="true"' in page
    assert 'data-code="unpaid_purchases"' in page
    assert "log entries: 1" in page
    assert "invoices: 1, receipts: 1 (unchanged, as issued)" in page
    assert 'id="download-export"' in page
    assert 'id="confirm-anonymize"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_the_page_follows_the_active_language() -> None:
    """With Polish as the request's language the messages and buttons are Polish."""
    page = _page(_client(MANAGER, "pl").get(_url("anonymize", BLOCKED)))
    running = g.Contract.objects.get(member__member_no=BLOCKED)
    blocker = ActiveContract(
        contract_id=str(running.pk),
        club_id=running.club.code,
        start=running.start,
        effective_end=None,
    )
    assert blocker.message("pl") in page
    assert text("django.admin.export", "pl") in page
    assert text("django.admin.title", "pl", member_id=BLOCKED) in page
    assert "Anonymize member" not in page


def test_the_export_downloads_as_json_and_is_audited() -> None:
    """The export is the library's JSON, an attachment, with one audit entry."""
    response = _client(MANAGER).post(_url("anonymize_export", ELIGIBLE))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{ELIGIBLE}-export.json"'
    exported = json.loads(response.content)
    assert exported["format"] == "member-anonymization/export@1"
    assert exported["member"]["id"] == ELIGIBLE
    assert list(g.AuditEntry.objects.values_list("action", flat=True)) == ["export"]


def test_the_export_needs_a_post() -> None:
    """A GET of the export URL is not allowed (no export by a mere link)."""
    response = _client(MANAGER).get(_url("anonymize_export", ELIGIBLE))
    assert response.status_code == 405
    assert not g.AuditEntry.objects.exists()


def test_a_post_without_the_confirmation_changes_nothing() -> None:
    """Only the confirmation form's ``post=yes`` anonymizes."""
    page = _page(_client(MANAGER).post(_url("anonymize", ELIGIBLE)))
    assert 'id="confirm-anonymize"' in page
    assert g.Member.objects.get(member_no=ELIGIBLE).anonymized_at is None


def test_confirming_anonymizes_and_shows_the_result_and_the_reminder() -> None:
    """The member is anonymized, files go after the commit, and the messages say so."""
    member = g.Member.objects.get(member_no=ELIGIBLE)
    files = [member.photo.name, *g.Document.objects.values_list("file", flat=True)]
    assert all(default_storage.exists(name) for name in files)
    response = _client(MANAGER).post(_url("anonymize", ELIGIBLE), {"post": "yes"}, follow=True)
    page = _page(response)
    assert response.redirect_chain == [(_url("change", ELIGIBLE), 302)]
    assert text("cli.anonymize.done", "en", member_id=ELIGIBLE) in page
    assert "Reminder: Unpaid purchases of 4.000 PLN in club c1" in page
    member.refresh_from_db()
    assert member.anonymized_at is not None
    assert (member.first_name, member.last_name, member.email) == ("Anonymized", "Member", None)
    assert not g.Document.objects.filter(member=member).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert g.Reminder.objects.filter(member=member, kind="unpaid_purchases").count() == 1
    assert g.Visit.objects.filter(member=member).count() == 1


def test_the_flow_runs_under_atomic_requests() -> None:
    """The views opt out of ``ATOMIC_REQUESTS``, where a unit of work could not commit."""
    connection.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        response = _client(MANAGER).post(_url("anonymize", ELIGIBLE), {"post": "yes"})
    finally:
        connection.settings_dict["ATOMIC_REQUESTS"] = False
    assert response.status_code == 302
    assert g.Member.objects.get(member_no=ELIGIBLE).anonymized_at is not None


def test_an_unknown_member_is_not_found() -> None:
    """An object id without a row answers 404."""
    url = reverse("admin:gym_member_anonymize", args=[999999])
    assert _client(MANAGER).get(url).status_code == 404
