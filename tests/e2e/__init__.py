"""End-to-end tests: the installed ``member-anonymization`` script on real databases."""
