"""What Hydra says about the running job: its command-line overrides and the option chosen in each
config group (empty outside a Hydra job, e.g. when a test calls the library with a composed config)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.hydra_config import HydraConfig


def task_overrides() -> list[str]:
    """The job's overrides as given (``["loss=l1", "dataset.grid_spacing=4"]``)."""
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def group_choices() -> dict[str, str]:
    """The option picked in each config group (``loss: l1``, ``metrics@evaluation: reference``),
    Hydra's own groups left out."""
    if not HydraConfig.initialized():
        return {}
    choices = HydraConfig.get().runtime.choices
    return {group: str(option) for group, option in choices.items() if not group.startswith("hydra")}


@dataclass(frozen=True)
class JobContext:
    """A job's overrides and group choices, read while Hydra runs it (a pack of jobs reads each
    job's when it sets the job up, and trains them later)."""

    overrides: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)

    @classmethod
    def current(cls) -> JobContext:
        return cls(task_overrides(), group_choices())
