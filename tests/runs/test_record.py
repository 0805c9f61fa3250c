"""The typed run records: ``metrics.json`` and ``audit.json`` read back as written, the wandb summary
read back as flattened, and partial, newer or pre-version files handled by name."""

import json
import re

import pytest

from overlapvae.analysis.audit import FactorReport
from overlapvae.runs.record import AuditSummary, Disentanglement, Health, RunSummary, SchedulerJob
from overlapvae.utils.validation import InvalidInputError

#: A ``metrics.json`` as runs wrote it before records had a ``schema_version``.
PRE_VERSION = {
    "status": "completed",
    "error": None,
    "traceback": None,
    "resumed_from": "checkpoints/last.ckpt",
    "resumed_at_step": 10,
    "recovered": None,
    "recovered_because": None,
    "wall_time_s": 12.5,
    "seed": 3,
    "sweep": "demo",
    "overrides": ["loss=l1", "dataset.grid_spacing=4", "seed=3"],
    "choices": {"loss": "l1", "framework": "betavae"},
    "resources": {"slot": 1, "gpu": None, "threads": 2},
    "scheduler": {
        "job_id": "7",
        "array_job_id": "6",
        "array_task_id": "1",
        "restart_count": 1,
        "log": "j.err",
    },
    "checkpoint": "checkpoints/last.ckpt",
    "steps": 20,
    "final": {"train/loss": 0.5, "train/recon": 0.25},
    "hyperparameters": {"beta": 0.001, "recon_scale": 8.0},
    "wandb": ["wandb/offline-run-1"],
    "disentanglement": {
        "final": {"mig.discrete_mig": 0.2},
        "periodic_max": {"mig.discrete_mig": 0.3},
        "periodic_last": {"step": 20, "mig.discrete_mig": 0.2},
        "periodic": [{"step": 10, "mig.discrete_mig": 0.3}, {"step": 20, "mig.discrete_mig": 0.2}],
        "failures": [],
    },
    "health": {
        "collapsed": False,
        "margin": 0.05,
        "step": 20,
        "error": 0.01,
        "constant_error": 0.04,
        "ratio": 0.25,
        "history": [{"step": 20, "error": 0.01, "constant_error": 0.04, "ratio": 0.25}],
    },
}


def test_a_pre_version_metrics_json_reads_as_version_1_with_typed_values(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(PRE_VERSION))
    summary = RunSummary.read(path)
    assert summary.status == "completed" and summary.steps == 20 and summary.seed == 3
    assert summary.final == {"train/loss": 0.5, "train/recon": 0.25}
    assert summary.disentanglement == Disentanglement(
        final={"mig.discrete_mig": 0.2},
        periodic_max={"mig.discrete_mig": 0.3},
        periodic_last={"step": 20, "mig.discrete_mig": 0.2},
        periodic=PRE_VERSION["disentanglement"]["periodic"],
    )
    assert summary.health.collapsed is False and summary.health.ratio == 0.25 and summary.health.step == 20
    assert summary.scheduler == SchedulerJob(
        job_id="7", array_job_id="6", array_task_id="1", restart_count=1, log="j.err"
    )
    assert summary.resources == {"slot": 1, "gpu": None, "threads": 2}
    # every key keeps its name and value; the version is added
    assert summary.to_json() == {"schema_version": 1, **PRE_VERSION}


def test_a_run_summary_survives_json_and_a_minimal_one_takes_the_defaults():
    summary = RunSummary.from_json(PRE_VERSION)
    assert RunSummary.from_json(json.loads(json.dumps(summary.to_json()))) == summary
    minimal = RunSummary.from_json({"status": "failed", "steps": 0, "seed": 1, "overrides": [], "final": {}})
    assert minimal.error is None and minimal.disentanglement is None and minimal.health is None
    assert minimal.choices == {} and minimal.wandb == [] and minimal.resumed_at_step == 0
    assert RunSummary.from_json(minimal.to_json()) == minimal


def test_the_wandb_summary_reads_back_scores_losses_health_and_status():
    summary = RunSummary.from_json(PRE_VERSION)
    flat = summary.to_wandb()
    assert flat["final_metrics/mig.discrete_mig"] == 0.2 and flat["periodic_max/mig.discrete_mig"] == 0.3
    assert flat["final_losses/train/recon"] == 0.25 and flat["health/ratio"] == 0.25
    assert {key for key in flat if key.startswith("health/")} == {
        "health/collapsed",
        "health/ratio",
        "health/error",
        "health/constant_error",
    }
    back = RunSummary.from_wandb({**flat, "periodic/mig.discrete_mig": 0.3}, "finished")
    assert (back.status, back.steps, back.seed, back.error, back.sweep) == ("completed", 20, 3, None, "demo")
    assert back.final == summary.final
    assert back.disentanglement.final == summary.disentanglement.final
    assert back.disentanglement.periodic_max == summary.disentanglement.periodic_max
    health = summary.health
    assert back.health == Health(
        step=None,
        collapsed=health.collapsed,
        ratio=health.ratio,
        error=health.error,
        constant_error=health.constant_error,
    )


def test_a_wandb_run_that_never_finished_has_the_status_of_its_state():
    back = RunSummary.from_wandb({"seed": 2}, "crashed")
    assert back.status == "failed" and back.steps is None and back.final == {} and back.seed == 2
    assert back.health.collapsed is None and back.disentanglement.final == {}


@pytest.mark.parametrize(
    ("remove", "named"),
    [(("steps",), "steps"), (("seed", "final"), "seed, final")],
)
def test_a_partial_record_names_its_file_and_every_missing_key(tmp_path, remove, named):
    record = json.loads(json.dumps(PRE_VERSION))
    for key in remove:
        del record[key]
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(record))
    with pytest.raises(InvalidInputError, match=f"^{re.escape(str(path))} is partial: it lacks {named}$"):
        RunSummary.read(path)
    del record["health"]["step"]
    with pytest.raises(InvalidInputError, match=r"lacks health\.step"):
        RunSummary.from_json(record)


def test_a_newer_schema_version_is_refused_and_an_unreadable_file_named(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({**PRE_VERSION, "schema_version": 2}))
    with pytest.raises(
        InvalidInputError, match=r"schema_version 2, but this overlapvae reads RunSummary version 1"
    ):
        RunSummary.read(path)
    path.write_text("[1]")
    with pytest.raises(InvalidInputError, match="holds list"):
        RunSummary.read(path)
    path.write_text("{truncated")
    with pytest.raises(InvalidInputError, match=f"cannot read {re.escape(str(path))}"):
        RunSummary.read(path)


def report(loss, factor, rho):
    return FactorReport(loss, factor, 4, 1.0, 0.1, 0.1, rho, rho, 0.9, "ordered" if rho else None)


def test_an_audit_summary_survives_json_with_typed_reports(tmp_path):
    audit = AuditSummary(
        factors=["x"],
        losses=["mse"],
        reports=[report("mse", "x", 0.8), report("mse", "random", None)],
        matrices={"x": {"mse": [[0.0, 1.0], [1.0, 0.0]]}},
        overrides=["dataset.grid_spacing=4"],
        device="cpu",
    )
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(audit.to_json()))
    back = AuditSummary.read(path)
    assert back == audit and back.reports[0].rank_correlation == 0.8 and back.reports[1].verdict is None
    assert json.loads(path.read_text())["schema_version"] == 1
    partial = {key: value for key, value in audit.to_json().items() if key != "overrides"}
    with pytest.raises(InvalidInputError, match="it lacks overrides"):
        AuditSummary.from_json(partial)
    del partial["reports"][0]["loss"]
    with pytest.raises(InvalidInputError, match=r"lacks reports\[0\]\.loss"):
        AuditSummary.from_json(partial)
