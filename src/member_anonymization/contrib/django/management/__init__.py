"""Management commands of the Django kit."""
