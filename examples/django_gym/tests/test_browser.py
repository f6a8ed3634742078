"""The admin's anonymization flow in a real browser: headless Chromium driven by Selenium.

It needs Debian's ``chromium`` and ``chromium-driver`` packages and the ``selenium``
package (the ``[test]`` extra). Under ``CI=true`` it fails when they are missing;
elsewhere it is skipped with the reason. With ``DJANGO_GYM_SCREENSHOTS=<folder>``
it saves a PNG of each step there (the Django page of the docs shows them).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from tests import builders as b

from examples.django_gym.gym import models as g
from examples.django_gym.tests.staff import BLOCKED, CLERK, ELIGIBLE, MANAGER, PASSWORD, load_gym
from member_anonymization.messages import text

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT = 15.0


def _missing() -> str | None:
    """Why the browser cannot run here, or ``None``."""
    for program in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(program) is None:
            return f"{program} is missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is missing (pip install -e '.[test]')"
    return None


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    """The browser's download folder."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(downloads: Path) -> Iterator[Any]:
    """Headless Chromium downloading into the test's folder; fails under CI when missing."""
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run under CI: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1200,940",
        "--lang=en",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "intl.accept_languages": "en",
        },
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def gym(tmp_path: Path) -> Iterator[None]:
    """The two members and the two staff users, who log in with a (quickly hashed) password."""
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(MEDIA_ROOT=tmp_path / "media", PASSWORD_HASHERS=fast):
        load_gym(password=PASSWORD)
        yield


class Flow:
    """Steps of the flow, each waiting for the page it leads to."""

    def __init__(self, driver: Any, base: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.base, self.by = driver, base, By
        self.wait = WebDriverWait(driver, WAIT)
        self.shots = os.environ.get("DJANGO_GYM_SCREENSHOTS")

    def find(self, css: str) -> Any:
        return self.wait.until(lambda d: d.find_element(self.by.CSS_SELECTOR, css))

    def present(self, css: str) -> bool:
        return bool(self.driver.find_elements(self.by.CSS_SELECTOR, css))

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def log_in(self, username: str, then: str) -> None:
        self.driver.delete_all_cookies()
        self.open(f"/admin/login/?next={then}")
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(PASSWORD)
        self.find("input[type=submit]").click()
        self.wait.until(lambda d: d.current_url.endswith(then))

    def click(self, css: str, then: str) -> None:
        self.find(css).click()
        self.find(then)

    def texts(self, css: str) -> list[str]:
        return [e.text for e in self.driver.find_elements(self.by.CSS_SELECTOR, css)]

    def shot(self, name: str) -> None:
        if self.shots:
            Path(self.shots).mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(Path(self.shots) / f"{name}.png"))


def _change(member_no: str) -> str:
    return f"/admin/gym/member/{g.Member.objects.get(member_no=member_no).pk}/change/"


def _anonymize(member_no: str) -> str:
    return _change(member_no).replace("/change/", "/anonymize/")


def _downloaded(folder: Path, name: str) -> Path:
    deadline = time.monotonic() + WAIT
    target = folder / name
    while time.monotonic() < deadline:
        if target.exists() and not list(folder.glob("*.crdownload")):
            return target
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded: {sorted(p.name for p in folder.iterdir())}")


def test_the_staff_flow_in_chromium(
    browser: Any, downloads: Path, live_server: Any, gym: None
) -> None:
    """No action without the permission; blockers; export, confirm, the anonymized profile."""
    flow = Flow(browser, live_server.url)

    # A clerk without the permission: no "Anonymize" on the member's page, 403 on its URL.
    flow.log_in(CLERK, _change(ELIGIBLE))
    assert flow.find("#content h1")
    assert not flow.present("#anonymize-link")
    flow.open(_anonymize(ELIGIBLE))
    assert "403" in flow.find("h1").text
    assert not g.AuditEntry.objects.exists()

    # A manager with it: a blocked member shows every blocker and no confirmation.
    flow.log_in(MANAGER, _change(BLOCKED))
    flow.click("#anonymize-link", "#anonymization")
    assert flow.find("#anonymization").get_attribute("data-eligible") == "false"
    codes = [e.get_attribute("data-code") for e in browser.find_elements("css selector", "li")]
    assert {"active_contract", "wallet_funds"} <= set(codes)
    assert not flow.present("#confirm-anonymize")
    flow.shot("admin-anonymize-blocked")
    assert g.Member.objects.get(member_no=BLOCKED).anonymized_at is None

    # The same page in Polish, the active language chosen by Django's language cookie.
    browser.add_cookie({"name": "django_language", "value": "pl"})
    browser.refresh()
    assert flow.find("#anonymization").get_attribute("lang") == "pl"
    assert text("django.admin.blockers", "pl") in flow.find("#content").text
    flow.shot("admin-anonymize-blocked-pl")
    browser.delete_cookie("django_language")

    # An eligible member: the warning, what goes and what stays; download the export.
    flow.open(_change(ELIGIBLE))
    flow.shot("admin-member")
    flow.click("#anonymize-link", "#anonymization")
    assert flow.find("#anonymization").get_attribute("data-eligible") == "true"
    assert "unpaid_purchases" in flow.find("#warnings").text
    assert "log entries: 1" in flow.texts("#removed li")
    flow.shot("admin-anonymize-eligible")
    flow.find("#download-export").click()
    exported = json.loads(_downloaded(downloads, f"{ELIGIBLE}-export.json").read_text())
    assert exported["member"]["id"] == ELIGIBLE
    assert exported["member"]["first_name"] == b.FIRST_NAME
    assert list(g.AuditEntry.objects.values_list("action", flat=True)) == ["export"]
    member = g.Member.objects.get(member_no=ELIGIBLE)
    assert member.anonymized_at is None
    files = [member.photo.name, *g.Document.objects.values_list("file", flat=True)]
    assert all(default_storage.exists(name) for name in files)

    # Confirm: the member's page shows the result, the reminder and the anonymized profile.
    flow.click("#confirm-anonymize", "ul.messagelist")
    assert browser.current_url.endswith(_change(ELIGIBLE))
    shown = flow.texts("ul.messagelist li")
    assert f"Member {ELIGIBLE} anonymized." in shown
    assert any(line.startswith("Reminder: Unpaid purchases") for line in shown)
    assert flow.find("#id_first_name").get_attribute("value") == "Anonymized"
    flow.shot("admin-anonymized")
    member = g.Member.objects.get(member_no=ELIGIBLE)
    assert member.anonymized_at is not None
    assert (member.first_name, member.email, member.photo.name) == ("Anonymized", None, "")
    assert not any(default_storage.exists(name) for name in files)
    assert g.Reminder.objects.filter(member=member, kind="unpaid_purchases").exists()
    actions = sorted(g.AuditEntry.objects.values_list("action", flat=True))
    assert actions == ["anonymize", "export"]
