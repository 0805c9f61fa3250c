"""Small helpers shared across the package: seeding and atomic file writes."""
