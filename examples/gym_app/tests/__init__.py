"""Tests of the gym application's adapter: the library's contract, and end to end."""
