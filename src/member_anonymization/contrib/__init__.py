"""Integration kits for host frameworks (optional extras; the core imports none of them)."""
