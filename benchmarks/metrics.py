"""Seconds per disentanglement metric, and for a whole preset, on a conv64 β-VAE (z = 9) over XYSquares.

The preset runs in this one process on the same model as overlapvae runs it (the shared
representation: the data set encoded once where the metrics ask for more codes than it holds; the
factors' classifiers on threads), ``--repeats`` times (median reported, values must repeat exactly),
and once as a straightforward per-call implementation (every request encoded afresh, classifiers
fitted one after another), the baseline. Values must agree within 0.01. On a CPU, times are also
compared with the disent library's own metrics on the same model and data, run in this process when
disent is installed (``disent_reference.py``; its scores are printed too, from its own samples), else
with the seconds recorded for it on the project's 2-core CPU machines.
Run: ``python benchmarks/metrics.py [--preset reference|fast] [--repeats N] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time

import torch
from hydra import compose, initialize_config_dir

from common import print_table, synchronise
from disent_reference import disent_installed, metric_runs
from overlapvae.experiment.build import make
from overlapvae.experiment.hydra_setup import config_dir, register
from overlapvae.experiment.jobs.train import build
from overlapvae.metrics import DCI, MetricSuite

register()  # the schemas and resolvers the train config composes with

#: disent on the project's 2-core CPU machines, seconds (FactorVAE at reference size estimated at
#: 7-8 minutes), for when disent is not installed.
RECORDED_DISENT_SECONDS = {
    "reference": {"dci": 159.0, "mig": 8.0, "sap": 12.0, "unsupervised": 6.6, "factor_vae": 450.0},
    "fast": {"dci": 22.6, "mig": 3.0, "sap": 2.9, "unsupervised": 2.2, "factor_vae": 32.0},
}


def trained_model(steps: int, checkpoint: str | None, device: torch.device):
    """The benchmark's model: a conv64 β-VAE with z = 9, trained ``steps`` steps on XYSquares."""
    overrides = [
        "experiment=quickstart",
        f"trainer={'gpu' if device.type == 'cuda' else 'cpu'}",
        "model.latent_size=9",
        f"trainer.max_steps={max(steps, 1)}",
        "callbacks=none",
        "logger=none",
        "+trainer.enable_progress_bar=false",
        "metrics@evaluation.periodic=none",
        "metrics@evaluation.final=none",
        f"paths.output_dir={tempfile.mkdtemp()}",
    ]
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    run = build(cfg)
    if checkpoint:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
        run.framework.load_state_dict(state)
    elif steps > 0:
        started = time.perf_counter()
        run.trainer.fit(run.framework, datamodule=run.datamodule)
        print(f"trained {steps} steps in {time.perf_counter() - started:.0f} s")
    return run.framework.to(device).eval(), run.datamodule.data


def preset(name: str) -> MetricSuite:
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose("evaluate", overrides=[f"metrics@evaluation={name}", "checkpoint=unused"])
    return make(cfg.evaluation)


def timed_evaluation(suite: MetricSuite, encode, data, device: torch.device, cache: bool = True):
    """The evaluation and its wall time in seconds."""
    started = time.perf_counter()
    evaluation = suite.evaluate(encode, data, device, cache=cache)
    synchronise(device)
    return evaluation, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="reference", choices=["reference", "fast", "test"])
    parser.add_argument("--train-steps", type=int, default=1000)
    parser.add_argument("--checkpoint", default=None, help="a last.ckpt of a conv64 z=9 run instead")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of overlapvae's evaluation")
    parser.add_argument("--skip-baseline", action="store_true", help="time overlapvae only")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    framework, data = trained_model(args.train_steps, args.checkpoint, device)
    encode = framework.posterior
    suite = preset(args.preset)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads")

    runs = [timed_evaluation(suite, encode, data, device) for _ in range(args.repeats)]
    fast = runs[0][0]
    assert not fast.errors, fast.errors
    if any(evaluation.values != fast.values for evaluation, _ in runs):
        raise SystemExit("repeated evaluations of the same model gave different values")
    seconds = {name: statistics.median(run.seconds[name] for run, _ in runs) for name in fast.seconds}
    fast_total = statistics.median(total for _, total in runs)
    per_call = None
    if not args.skip_baseline:
        sequential = {
            name: dataclasses.replace(metric, n_jobs=1) if isinstance(metric, DCI) else metric
            for name, metric in suite.metrics.items()
        }
        baseline = MetricSuite(sequential, suite.representation, suite.random_seed, suite.encode_batch_size)
        per_call, per_call_total = timed_evaluation(baseline, encode, data, device, cache=False)

    disent, disent_source = {}, ""
    if device.type == "cpu" and disent_installed():
        measured = metric_runs(data, lambda images: encode(images)[0], suite.metrics)
        disent, disent_source = {name: seconds for name, (seconds, _) in measured.items()}, "this process"
        for name, (_, scores) in measured.items():
            shown = (
                f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}"
                for key, value in scores.items()
            )
            print(f"disent {name}: " + ", ".join(shown))
    elif device.type == "cpu":
        disent, disent_source = RECORDED_DISENT_SECONDS.get(args.preset, {}), "recorded"
    rows = []
    for name in ["encode_all", *suite.metrics]:
        if name not in seconds:
            continue
        reference = disent.get(name)
        straightforward = per_call.seconds.get(name) if per_call else None
        rows.append(
            [
                name,
                f"{reference:.1f}" if reference else "",
                f"{straightforward:.1f}" if straightforward else "",
                f"{seconds[name]:.1f}",
                f"{straightforward / seconds[name]:.1f}x" if straightforward else "",
                f"{reference / seconds[name]:.1f}x" if reference else "",
            ]
        )
    disent_total = sum(disent.values()) if disent else None
    rows.append(
        [
            "whole preset",
            f"{disent_total:.0f}" if disent_total else "",
            f"{per_call_total:.0f}" if per_call else "",
            f"{fast_total:.0f}",
            f"{per_call_total / fast_total:.1f}x" if per_call else "",
            f"{disent_total / fast_total:.1f}x" if disent_total else "",
        ]
    )
    print(
        f"\n{args.preset} preset on {type(data).__name__} ({data.num_observations} observations), "
        f"overlapvae: median of {args.repeats} runs, codes encoded: {fast.num_encoded} "
        f"(per-call: {per_call.num_encoded if per_call else '-'})\n"
    )
    disent_header = f"disent s ({disent_source})" if disent_source else "disent s"
    print_table(
        ["metric", disent_header, "per-call s", "overlapvae s", "x per-call", "x disent"],
        rows,
    )
    print()
    value_rows = []
    for key, value in fast.values.items():
        other = per_call.values.get(key) if per_call else None
        difference = abs(value - other) if other is not None else None
        value_rows.append(
            [
                key,
                f"{value:.4f}",
                "" if other is None else f"{other:.4f}",
                "" if difference is None else f"{difference:.1e}",
            ]
        )
    print_table(["score", "overlapvae", "per-call", "|difference|"], value_rows)
    if per_call:
        worst = max(abs(value - per_call.values[key]) for key, value in fast.values.items())
        print(f"\nlargest difference from the per-call implementation: {worst:.2e} (must be <= 0.01)")
        if worst > 0.01:
            raise SystemExit("values differ from the per-call implementation by more than 0.01")


if __name__ == "__main__":
    main()
