"""Metrics during training (periodic and final, in ``metrics.json``) and ``overlapvae-evaluate``."""

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from conftest import FAST, compose_train
from overlapvae.experiment.hydra_setup import config_dir
from overlapvae.experiment.jobs.evaluate import evaluate
from overlapvae.experiment.jobs.train import train
from overlapvae.metrics import MetricSuite
from overlapvae.runs.checkpoints import locate

SCORES = {
    "mig.discrete_mig",
    "dci.disentanglement",
    "dci.completeness",
    "dci.informativeness_train_accuracy",
    "dci.informativeness_test_accuracy",
    "sap.sap_score",
    "factor_vae.train_accuracy",
    "factor_vae.eval_accuracy",
    "factor_vae.num_active_dims",
    "beta_vae.train_accuracy",
    "beta_vae.eval_accuracy",
    "unsupervised.gaussian_total_correlation",
    "unsupervised.gaussian_wasserstein_correlation",
    "unsupervised.gaussian_wasserstein_correlation_norm",
    "unsupervised.mean_pairwise_mutual_info",
}


def save_config(cfg, run_dir: Path) -> None:
    """What Hydra writes into a run dir, for runs made in-process."""
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    (run_dir / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(cfg))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 20-step debug run: the test preset every 10 steps (DCI every 20) and at the end."""
    run_dir = tmp_path_factory.mktemp("metrics") / "run"
    overrides = [o for o in FAST if not o.startswith("metrics@")]
    cfg = compose_train([*overrides, "schedule.metrics_every_per_metric.dci=20"], run_dir)
    save_config(cfg, run_dir)
    return run_dir, train(cfg)


def test_metrics_json_holds_final_and_max_over_training(trained):
    run_dir, summary = trained
    assert summary["status"] == "completed"
    record = json.loads((run_dir / "metrics.json").read_text())["disentanglement"]
    assert set(record["final"]) == SCORES and record["failures"] == []
    assert [row["step"] for row in record["periodic"]] == [10, 20]
    assert "dci.disentanglement" not in record["periodic"][0]  # scheduled every 20 steps
    assert set(record["periodic"][1]) == SCORES | {"step"}
    for key, maximum in record["periodic_max"].items():
        assert maximum == max(row[key] for row in record["periodic"] if key in row)
    assert record["periodic_last"] == record["periodic"][-1]
    # the test preset samples the same points at step 20 and at the end: same model, same values
    assert {k: v for k, v in record["periodic"][1].items() if k != "step"} == record["final"]


def test_metrics_reach_the_loggers(trained):
    run_dir, _ = trained
    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {f"final/{key}" for key in SCORES} <= set(header)
    assert {"periodic/dci.disentanglement", "metric_seconds/dci"} <= set(header)


def test_a_failing_metric_is_logged_and_training_goes_on(train_config):
    cfg = train_config(
        "metrics@evaluation.periodic=test",
        "evaluation.periodic.metrics.mig.num_bins=1",
        "callbacks.metrics.every_n_steps=10",
    )
    summary = train(cfg)
    assert summary["status"] == "completed" and summary["steps"] == 20
    failures = summary["disentanglement"]["failures"]
    assert [(f["step"], f["metric"]) for f in failures] == [(10, "mig"), (20, "mig")]
    assert "num_bins=1 is invalid" in failures[0]["error"]
    assert "dci.disentanglement" in summary["disentanglement"]["periodic_max"]


def compose_evaluate(*overrides):
    with initialize_config_dir(config_dir(), version_base="1.3"):
        return compose("evaluate", overrides=list(overrides))


def test_evaluate_reproduces_the_final_scores_from_the_checkpoint(trained):
    run_dir, _ = trained
    result = evaluate(compose_evaluate(f"checkpoint={run_dir}", "metrics@evaluation=test", "device=cpu"))
    written = json.loads((run_dir / "eval_metrics.json").read_text())
    final = json.loads((run_dir / "metrics.json").read_text())["disentanglement"]["final"]
    assert written == result and result["status"] == "completed" and result["step"] == 20
    assert result["values"] == pytest.approx(final, abs=1e-9)
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    evaluate(
        compose_evaluate(f"checkpoint={checkpoint}", "metrics@evaluation=test", "output_name=again.json")
    )
    assert json.loads((checkpoint.parent / "again.json").read_text())["values"] == result["values"]


def test_evaluate_names_a_missing_checkpoint_or_run_config(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at .*last\.ckpt: pass checkpoint=<run dir>"):
        locate(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"config\.yaml is missing"):
        locate(tmp_path)


@pytest.mark.parametrize(("final", "evaluations"), [("test", 2), ("fast", 3)])
def test_the_final_evaluation_reuses_the_same_suites_evaluation_at_the_last_step(
    train_config, monkeypatch, final, evaluations
):
    calls = []
    original = MetricSuite.evaluate

    def counted(self, *arguments, **keywords):
        calls.append(self)
        return original(self, *arguments, **keywords)

    monkeypatch.setattr(MetricSuite, "evaluate", counted)
    overrides = ("metrics@evaluation.periodic=test", f"metrics@evaluation.final={final}")
    cfg = train_config(*overrides, "callbacks.metrics.every_n_steps=10")
    record = train(cfg)["disentanglement"]
    assert len(calls) == evaluations  # steps 10 and 20, and a final one only for another suite
    assert set(record["final"]) >= {"mig.discrete_mig", "dci.disentanglement"}
    if final == "test":
        assert record["final"] == {k: v for k, v in record["periodic"][-1].items() if k != "step"}
