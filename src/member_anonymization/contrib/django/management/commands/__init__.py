"""The ``member_anonymization`` management command."""
