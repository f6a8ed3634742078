"""Worked examples of applications that integrate member-anonymization."""
