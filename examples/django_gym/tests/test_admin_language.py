"""The admin's language: Django's language codes to the message catalogue's."""

from __future__ import annotations

import pytest
from django.utils import translation

from member_anonymization.contrib.django.admin import catalogue_language


@pytest.mark.parametrize(
    ("django_language", "expected"),
    [("pl", "pl"), ("pl-pl", "pl"), ("en-us", "en"), ("de", "en"), ("PL", "pl")],
)
def test_django_languages_map_to_the_catalogue(django_language: str, expected: str) -> None:
    """A regional code gives its language; a language the catalogue lacks gives English."""
    assert catalogue_language(django_language) == expected


def test_the_active_language_is_the_default() -> None:
    """Without an argument the request's active language decides."""
    with translation.override("pl"):
        assert catalogue_language() == "pl"
    with translation.override("en"):
        assert catalogue_language() == "en"
