"""Formal intakes: made only by the visitor's consent, sealed at rest, delivered once, then purged."""
