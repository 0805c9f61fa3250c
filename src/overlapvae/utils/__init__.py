"""Small helpers shared across the package: seeding, atomic file writes, caching and config checks."""
