"""The gym app: models and the adapter."""
