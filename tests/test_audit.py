"""``overlapvae-audit`` end to end in fresh processes: a data set, a trained checkpoint, a sweep."""

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from conftest import FAST, entry_point
from overlapvae.experiment.hydra_setup import config_dir

pytestmark = pytest.mark.slow

SMALL = ("num_traversals=8", "num_pairs=500", "triplets_per_traversal=8", "device=cpu")


def run(command: str, *arguments: str) -> subprocess.CompletedProcess:
    executable = entry_point(command)
    environment = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [executable, *arguments], capture_output=True, text=True, env=environment, timeout=600, check=False
    )
    return result


def succeed(command: str, *arguments: str) -> subprocess.CompletedProcess:
    result = run(command, *arguments)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_every_dataset_option_composes_into_the_audit_config():
    for option in sorted(path.stem for path in (Path(config_dir()) / "dataset").glob("*.yaml")):
        with initialize_config_dir(config_dir(), version_base="1.3"):
            cfg = compose("audit", overrides=[f"dataset={option}"])
        assert cfg.losses == ["mse", "l1"] and cfg.num_pairs == 50_000 and cfg.num_traversals == 256


@pytest.mark.parametrize(
    ("dataset", "factors"),
    [("xysquares", ["x_R", "y_R", "x_G", "y_G", "x_B", "y_B"]), ("xyobject", ["x", "y", "scale", "color"])],
)
def test_the_audit_writes_figure_json_csv_and_verdict(tmp_path, dataset, factors):
    result = succeed("overlapvae-audit", f"dataset={dataset}", f"hydra.run.dir={tmp_path}", *SMALL)
    for name in (
        "traversal_matrices.png",
        "traversal_matrices.pdf",
        "audit.json",
        "audit.csv",
        "verdict.txt",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
    record = json.loads((tmp_path / "audit.json").read_text())
    assert record["factors"] == factors and record["losses"] == ["mse", "l1"]
    assert set(record["matrices"][factors[0]]) == {"ground_truth", "mse", "l1"}
    with (tmp_path / "audit.csv").open() as file:
        rows = list(csv.DictReader(file))
    single, compared = [r for r in rows if not r["compared_with"]], [r for r in rows if r["compared_with"]]
    assert [(r["loss"], r["factor"]) for r in single] == [
        (loss, factor) for loss in ("mse", "l1") for factor in [*factors, "random"]
    ]
    assert [(r["loss"], r["compared_with"], r["factor"]) for r in compared] == [
        ("mse", "l1", factor) for factor in [*factors, "random"]
    ]
    verdict = (tmp_path / "verdict.txt").read_text()
    assert verdict.splitlines()[0] == "[mse]" and verdict in result.stdout and "[mse vs l1]" in verdict
    assert record["loss_scales"] == {"mse": 1.0, "l1": 1.0}
    if dataset == "xysquares":  # spacing 8: every factor constant, correlations undefined
        assert all(r["verdict"] == "constant" and r["rank_correlation"] == "undefined" for r in single[:6])
        assert record["overlap_1d"]["mean_overlap"] == 1.0
        # binary images: L1 and MSE order every pair alike, on the same scale in [0, 1]
        assert {(r["rank_correlation"], r["verdict"]) for r in compared} == {("1.0", "same order")}
        assert float(compared[-1]["scale_ratio"]) == pytest.approx(1.0)
        assert record["comparisons"][0]["same_order"] and "order every pair alike" in verdict
    else:
        assert record["overlap_1d"] is None and all(r["verdict"] for r in single if r["factor"] != "random")
        assert not record["comparisons"][0]["same_order"] and "order pairs differently" in verdict


def test_matched_and_calibrated_losses_are_audited_on_the_training_scale(tmp_path):
    losses = "losses=[mse,l1_matched,mse_calibrated,l1_calibrated]"
    succeed(
        "overlapvae-audit", losses, "standardise=true", "factors=[x_R]", f"hydra.run.dir={tmp_path}", *SMALL
    )
    record = json.loads((tmp_path / "audit.json").read_text())
    assert record["loss_scales"]["l1_matched"] == pytest.approx(65**0.5, rel=1e-5)
    assert record["loss_scales"]["mse_calibrated"] == 1.0
    comparisons = {(c["loss"], c["other"]): c for c in record["comparisons"]}
    assert len(comparisons) == 6 and all(c["same_order"] for c in comparisons.values())
    assert comparisons["mse", "l1_matched"]["scale_ratio"] == pytest.approx(65**0.5, rel=1e-5)


def test_model_distances_of_a_twenty_step_checkpoint(tmp_path):
    train_dir = tmp_path / "train"
    succeed("overlapvae-train", *FAST, f"hydra.run.dir={train_dir}")
    audit_dir = tmp_path / "audit"
    succeed(
        "overlapvae-audit",
        f"checkpoint={train_dir}",
        "model_traversals=4",
        f"hydra.run.dir={audit_dir}",
        *SMALL,
    )
    record = json.loads((audit_dir / "model_distances.json").read_text())
    assert record["step"] == 20
    assert set(record["matrices"]["x_R"]) == {"factors", "x", "z", "kl", "x_recon"}
    assert (audit_dir / "model_distances.png").exists() and (audit_dir / "model_distances.pdf").exists()
    # on the [0, 1] scale the data audit sees 0.0104; the model's own loss sees standardised inputs (× 65)
    assert record["matrices"]["x_R"]["x"][0][1] == pytest.approx(0.0104167 * 65, rel=1e-5)
    refused = run("overlapvae-audit", f"checkpoint={train_dir}", "dataset=xyobject", *SMALL)
    assert refused.returncode != 0 and "drop the dataset override" in refused.stderr


def test_a_spacing_sweep_writes_the_summary(tmp_path):
    succeed(
        "overlapvae-audit",
        "-m",
        "dataset.grid_spacing=1,4,8",
        "factors=[y_R]",
        f"hydra.sweep.dir={tmp_path}",
        *SMALL,
    )
    for name in ("sweep_matrices.png", "sweep_matrices.pdf", "correlation_vs_dataset_grid_spacing.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    with (tmp_path / "sweep_summary.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [row["dataset.grid_spacing"] for row in rows] == ["1", "4", "8"]
    rank = [row["mse: factors (mean ρ)"] for row in rows]
    assert rank[2] == "undefined" and float(rank[0]) > float(rank[1]) > 0
