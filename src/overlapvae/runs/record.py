"""The two records a job leaves, typed: ``metrics.json`` (``RunSummary``, a training run) and
``audit.json`` (``AuditSummary``, a data audit). Every writer and reader goes through them, so a
renamed key fails where the record is read instead of leaving blank result columns."""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from overlapvae.utils.validation import InvalidInputError

if TYPE_CHECKING:
    from overlapvae.analysis.audit import FactorReport

T = TypeVar("T")
R = TypeVar("R", bound="_Record")

#: The status of a wandb run whose summary has none (it never reached ``finish_wandb``), by its state.
WANDB_STATES = {"finished": "completed", "crashed": "failed", "failed": "failed", "killed": "interrupted"}
#: The health check's values in a wandb run's summary (``health/<key>``).
WANDB_HEALTH = ("collapsed", "ratio", "error", "constant_error")


def _build(kind: type[T], data: Any, where: str, at: str = "") -> T:
    """``kind`` from its JSON object; ``InvalidInputError`` naming ``where`` and every missing key.
    Keys ``kind`` does not know are left out (fields that later versions may add)."""
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"{where} holds {type(data).__name__}{at and ' at ' + at}, not {kind.__name__}"
        )
    known = {item.name: item for item in fields(kind)}  # type: ignore[arg-type]
    required = [n for n, f in known.items() if f.default is MISSING and f.default_factory is MISSING]
    missing = [f"{at}.{name}" if at else name for name in required if name not in data]
    if missing:
        raise InvalidInputError(f"{where} is partial: it lacks {', '.join(missing)}")
    return kind(**{key: value for key, value in data.items() if key in known})


class _Record:
    """The JSON form of a record, with the ``schema_version`` of its layout, and reading one."""

    SCHEMA_VERSION: ClassVar[int]

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": self.SCHEMA_VERSION, **asdict(self)}  # type: ignore[call-overload]

    @classmethod
    def _checked(cls, data: Any, source: Path | None) -> str:
        """Where ``data`` came from, for messages, once its version is one this code reads (a file
        without ``schema_version`` predates it: version 1)."""
        where = str(source) if source else f"the {cls.__name__}"
        version = data.get("schema_version", 1) if isinstance(data, dict) else 1
        if version != cls.SCHEMA_VERSION:
            raise InvalidInputError(
                f"{where} has schema_version {version!r}, but this overlapvae reads {cls.__name__} version "
                f"{cls.SCHEMA_VERSION}: read it with the (newer) overlapvae that wrote it"
            )
        return where

    @classmethod
    def read(cls: type[R], path: Path) -> R:
        """The record in the JSON file ``path``; ``InvalidInputError`` when it is unreadable or partial."""
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidInputError(f"cannot read {path}: {error}") from error
        return cls.from_json(data, path)  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class Disentanglement:
    """The metrics callback's record: ``final`` (``None`` until the final evaluation ran), the maximum
    over training of each periodic score, the last periodic row, every row, and failed evaluations."""

    final: dict[str, float] | None
    periodic_max: dict[str, float] = field(default_factory=dict)
    periodic_last: dict[str, float] | None = None
    periodic: list[dict[str, float]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Health:
    """The health check's record: its last check (``step``, errors, ratio, ``collapsed``) and history."""

    collapsed: bool | None = None
    margin: float | None = None
    step: int | None
    error: float | None = None
    constant_error: float | None = None
    ratio: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class SchedulerJob:
    """Under SLURM: the job's ids, how often it was requeued and (under submitit) its log file."""

    job_id: str
    array_job_id: str | None = None
    array_task_id: str | None = None
    restart_count: int = 0
    log: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunSummary(_Record):
    """``metrics.json``: how a run ended and what it got to (losses, scores, health), and how it ran
    (seed, overrides, resume, scheduler). ``steps``, ``seed`` are ``None`` only where nothing says."""

    SCHEMA_VERSION: ClassVar[int] = 1

    status: str
    steps: int | None
    error: str | None = None
    traceback: str | None = None
    resumed_from: str | None = None
    resumed_at_step: int = 0
    recovered: str | None = None
    recovered_because: str | None = None
    wall_time_s: float | None = None
    seed: int | None
    sweep: str | None = None
    overrides: list[str]
    choices: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] | None = None  # the launcher's: slot (joblib), gpu, threads
    scheduler: SchedulerJob | None = None
    checkpoint: str | None = None
    final: dict[str, float]
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    wandb: list[str] = field(default_factory=list)
    disentanglement: Disentanglement | None = None
    health: Health | None = None

    @classmethod
    def from_json(cls, data: Any, source: Path | None = None) -> RunSummary:
        """The record of a ``metrics.json``'s content (``source`` names the file in errors)."""
        where = cls._checked(data, source)
        nested = {"disentanglement": Disentanglement, "health": Health, "scheduler": SchedulerJob}
        if isinstance(data, dict):
            records = {
                key: _build(kind, data[key], where, key)
                for key, kind in nested.items()
                if data.get(key) is not None
            }
            data = {**data, **records}
        return _build(cls, data, where)

    def to_wandb(self) -> dict[str, Any]:
        """The flat wandb run summary: outcome, final scores, the maximum over training of each
        periodic score, the final losses and the health check."""
        scores = self.disentanglement or Disentanglement(final=None)
        health = asdict(self.health) if self.health else {}
        return {
            "status": self.status,
            "steps": self.steps,
            "error": self.error,
            "seed": self.seed,
            "sweep": self.sweep,
            **{f"final_metrics/{key}": value for key, value in (scores.final or {}).items()},
            **{f"periodic_max/{key}": value for key, value in scores.periodic_max.items()},
            **{f"final_losses/{key}": value for key, value in self.final.items()},
            **{f"health/{key}": health.get(key) for key in WANDB_HEALTH},
        }

    @classmethod
    def from_wandb(cls, flat: dict[str, Any], state: str) -> RunSummary:
        """The record ``to_wandb`` flattened into a wandb run's summary; without a ``status`` (the run
        never finished) its wandb ``state`` says how it ended. Overrides and choices are in its config."""

        def section(prefix: str) -> dict[str, Any]:
            return {key.removeprefix(prefix): value for key, value in flat.items() if key.startswith(prefix)}

        return cls(
            status=flat.get("status") or WANDB_STATES.get(state, state),
            error=flat.get("error"),
            steps=flat.get("steps"),
            seed=flat.get("seed"),
            sweep=flat.get("sweep"),
            overrides=[],
            final=section("final_losses/"),
            disentanglement=Disentanglement(
                final=section("final_metrics/"), periodic_max=section("periodic_max/")
            ),
            health=Health(step=None, **{key: flat.get(f"health/{key}") for key in WANDB_HEALTH}),
        )


@dataclass(frozen=True, kw_only=True)
class AuditSummary(_Record):
    """``audit.json``: a data audit (``DataAudit.to_json``) with the data set's config, the job's
    overrides, the device and each loss's training scale."""

    SCHEMA_VERSION: ClassVar[int] = 1

    factors: list[str]
    losses: list[str]
    reports: list[FactorReport]
    matrices: dict[str, dict[str, list[list[float]]]]
    settings: dict[str, Any] = field(default_factory=dict)
    skipped_factors: dict[str, str] = field(default_factory=dict)
    overlap_1d: dict[str, float] | None = None
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    verdict: list[str] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)
    overrides: list[str]
    device: str | None = None
    loss_scales: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, source: Path | None = None) -> AuditSummary:
        """The record of an ``audit.json``'s content (``source`` names the file in errors)."""
        from overlapvae.analysis.audit import FactorReport  # seconds to import: only audit readers need it

        where = cls._checked(data, source)
        if isinstance(data, dict) and isinstance(data.get("reports"), list):
            reports = [_build(FactorReport, r, where, f"reports[{i}]") for i, r in enumerate(data["reports"])]
            data = {**data, "reports": reports}
        return _build(cls, data, where)
