"""Everything Lightning runs beside a framework: the trainer factory, checkpoints (atomic), the
non-finite loss guard, the run health check, images, model distances, the metrics schedule, model
acceleration, pre-emption, and what a resumed run restores (random streams, CSV history)."""
