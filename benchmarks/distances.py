"""Traversal distance matrices of all six XYSquares factors (100 traversals each, MSE on [0, 1]) and
the distances of a conv64 β-VAE (z = 9) along them (x, z, kl, x_recon): overlapvae against a
per-traversal, per-pair implementation of the same definitions in this process (the algorithm of
disent's ``compute_factor_distances``: each traversal rendered image by image, each pair's two
images encoded and decoded anew). Both see the same traversals; their matrices must agree.
When disent is installed (see ``disent_reference.py``) its ``compute_factor_distances`` is timed in
this process too (CPU runs), and overlapvae's columns on the traversals it drew, with the same
weights, are compared with its matrices; the figure recorded for the project's 2-core CPU (32.6 s)
is printed either way. Then the time and throughput of each of the model's layers over the traversal
images, where the time goes; last, the audit's traversal matrices under MSE and the paper's
box-blurred MSE with every pair taken from one Gram matrix per traversal (what the analysis does)
against one loss evaluation per pair.
Run: ``python benchmarks/distances.py [--repeats N] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from common import matmul_gflops, median_seconds, print_table, synchronise
from disent_reference import DisentReference, disent_installed, largest_relative_difference
from overlapvae.analysis import model_distance_matrices, symmetric_kl, traversal_distances, upper_pairs
from overlapvae.data import XYSquares
from overlapvae.frameworks import BetaVAE
from overlapvae.losses import KernelLoss, MSELoss
from overlapvae.models import Conv64

DISENT_SECONDS = 32.6
TRAVERSALS = 100


def make_model(device: torch.device) -> BetaVAE:
    torch.manual_seed(0)
    model = BetaVAE(
        model=partial(Conv64, latent_size=9),
        recon_loss=MSELoss(),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        image_shape=(3, 64, 64),
        beta=0.0316,
    ).to(device)
    model.use_memory_format(torch.channels_last)  # the trainer's default layout
    return model.eval()


def overlapvae_distances(data: XYSquares, model: BetaVAE, device: torch.device, seed: int) -> dict:
    loss = {"mse": MSELoss()}
    data_matrices = {
        name: traversal_distances(
            data, loss, name, TRAVERSALS, torch.Generator(device).manual_seed(seed)
        ).matrices()["mse"]
        for name in data.factor_names
    }
    model_matrices = {}
    for name in data.factor_names:
        generator = torch.Generator(device).manual_seed(seed)
        model_matrices.update(model_distance_matrices(model, data, True, TRAVERSALS, generator, [name]))
    return {"data": data_matrices, "model": model_matrices}


@torch.no_grad()
def per_pair_distances(data: XYSquares, model: BetaVAE, device: torch.device, seed: int) -> dict:
    """The baseline: one traversal at a time, images rendered one by one, pairs through the model."""
    loss = MSELoss()
    data_matrices, model_matrices = {}, {}
    for factor, name in enumerate(data.factor_names):
        size = data.factor_sizes[factor]
        first, second = (index.cpu().numpy() for index in upper_pairs(size))
        bases = data.sample_factors(TRAVERSALS, torch.Generator(device).manual_seed(seed))
        sums = {key: np.zeros((size, size)) for key in ("data", "factors", "x", "z", "kl", "x_recon")}
        for base in bases:
            traversal = base.repeat(size, 1)
            traversal[:, factor] = torch.arange(size, device=device)
            unit = torch.cat([data.render_float(row[None], standardise=False) for row in traversal])
            standard = torch.cat([data.render_float(row[None], standardise=True) for row in traversal])
            x_a, x_b = standard[first], standard[second]
            (mean_a, log_a), (mean_b, log_b) = model.posterior(x_a), model.posterior(x_b)
            decoded_a, decoded_b = model.decode(mean_a), model.decode(mean_b)
            values = {
                "data": loss.distance(unit[first], unit[second]),
                "factors": (traversal[first] - traversal[second]).abs().sum(-1).double(),
                "x": loss.distance(x_a, x_b),
                "z": (mean_a - mean_b).norm(dim=-1),
                "kl": symmetric_kl(mean_a, log_a, mean_b, log_b),
                "x_recon": loss.distance(decoded_a, decoded_b),
            }
            for key, value in values.items():
                sums[key][first, second] += value.cpu().numpy()
                sums[key][second, first] += value.cpu().numpy()
        data_matrices[name] = sums.pop("data") / TRAVERSALS
        model_matrices[name] = {key: value / TRAVERSALS for key, value in sums.items()}
    return {"data": data_matrices, "model": model_matrices}


@torch.no_grad()
def model_flops(data: XYSquares, model: BetaVAE, device: torch.device) -> float:
    """FLOPs of encoding and decoding every traversal image once, the least any implementation does."""
    images = TRAVERSALS * sum(data.factor_sizes)
    batch = data.render_float(
        data.sample_factors(1, torch.Generator(device).manual_seed(0)), standardise=True
    )
    with FlopCounterMode(display=False) as counter:
        model.decode(model.posterior(batch)[0])
    return images * float(counter.get_total_flops())


@torch.no_grad()
def layer_rows(data: XYSquares, model: BetaVAE, device: torch.device) -> list[list[str]]:
    """Seconds, GFLOP and GFLOP/s of each layer with weights, timed by hooks inside one real run of
    the analysis (so each layer sees its inputs as the analysis gives them)."""
    layers = {
        f"{stage} {index}": layer
        for stage, stack in (("encoder", model.model.encoder), ("decoder", model.model.decoder))
        for index, layer in enumerate(stack)
        if next(layer.parameters(), None) is not None
    }
    seconds = dict.fromkeys(layers, 0.0)
    samples = dict.fromkeys(layers, 0)
    first_inputs: dict[str, torch.Tensor] = {}
    started: dict[str, float] = {}

    def before(name: str, module: torch.nn.Module, inputs: tuple[torch.Tensor]) -> None:
        first_inputs.setdefault(name, inputs[0])
        samples[name] += len(inputs[0])
        synchronise(device)
        started[name] = time.perf_counter()

    def after(name: str, module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        synchronise(device)
        seconds[name] += time.perf_counter() - started[name]

    handles = [
        hook
        for name, layer in layers.items()
        for hook in (
            layer.register_forward_pre_hook(partial(before, name)),
            layer.register_forward_hook(partial(after, name)),
        )
    ]
    try:
        overlapvae_distances(data, model, device, 0)
    finally:
        for handle in handles:
            handle.remove()
    rows = []
    for name, layer in layers.items():
        with FlopCounterMode(display=False) as counter:
            output = layer(first_inputs[name])
        gflop = counter.get_total_flops() / len(output) * samples[name] / 1e9
        shape = "×".join(str(size) for size in output.shape[1:])
        rows.append(
            [
                f"{name}: {layer}",
                shape,
                f"{seconds[name]:.3f}",
                f"{gflop:.1f}",
                f"{gflop / seconds[name]:.0f}",
            ]
        )
    return rows


def largest_difference(ours: dict, theirs: dict) -> float:
    differences = [
        np.abs(ours["data"][name].cpu().numpy() - theirs["data"][name]).max() for name in ours["data"]
    ]
    for name, columns in ours["model"].items():
        differences += [np.abs(m.cpu().numpy() - theirs["model"][name][k]).max() for k, m in columns.items()]
    return float(max(differences))


def without_embedding(loss: KernelLoss | MSELoss) -> KernelLoss | MSELoss:
    """The same loss with its Euclidean embedding hidden, so pairs are measured one by one."""
    loss.euclidean_embedding = lambda images: None
    return loss


def audit_matrices(
    data: XYSquares, loss: KernelLoss | MSELoss, factors: list[str], traversals: int, device: torch.device
) -> list[torch.Tensor]:
    """Each factor's averaged [0, 1] traversal matrix under ``loss``, as the audit computes it."""
    return [
        traversal_distances(
            data, {"loss": loss}, factor, traversals, torch.Generator(device).manual_seed(0)
        ).matrices()["loss"]
        for factor in factors
    ]


def pair_method_rows(repeats: int, device: torch.device) -> list[list[str]]:
    """Seconds for the traversal matrices of the audit with and without the Gram form, and their
    largest difference: overlap-free XYSquares (8 values per factor, every factor) and spacing 2
    (29 values, one factor, where a traversal has 406 pairs)."""
    rows = []
    spacing_8, spacing_2 = XYSquares(grid_spacing=8), XYSquares(grid_spacing=2)
    cases = [(spacing_8, list(spacing_8.factor_names), TRAVERSALS), (spacing_2, ["x_R"], 20)]
    for data, factors, traversals in cases:
        for name, make_loss in (("mse", MSELoss), ("mse_box_r31", KernelLoss)):
            with_gram = partial(audit_matrices, data, make_loss().to(device), factors, traversals, device)
            per_pair = partial(
                audit_matrices, data, without_embedding(make_loss().to(device)), factors, traversals, device
            )
            gram_seconds = median_seconds(with_gram, repeats, device, warmup=1)
            pair_seconds = median_seconds(per_pair, repeats, device, warmup=1)
            difference = max(
                float((a - b).abs().max() / b.abs().max())
                for a, b in zip(with_gram(), per_pair(), strict=True)
            )
            rows.append(
                [
                    f"XYSquares spacing {data.grid_spacing}",
                    f"{len(factors)} × {traversals} × {data.factor_sizes[0]}",
                    name,
                    f"{pair_seconds:.2f}",
                    f"{gram_seconds:.2f}",
                    f"{pair_seconds / gram_seconds:.1f}×",
                    f"{difference:.1e}",
                ]
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    arguments = parser.parse_args()
    device = torch.device(arguments.device)
    data = XYSquares(grid_spacing=8, grid_size=8)
    model = make_model(device)
    ours = median_seconds(lambda: overlapvae_distances(data, model, device, 0), arguments.repeats, device)
    theirs = median_seconds(
        lambda: per_pair_distances(data, model, device, 0), max(1, arguments.repeats // 2), device, warmup=1
    )
    difference = largest_difference(
        overlapvae_distances(data, model, device, 0), per_pair_distances(data, model, device, 0)
    )
    floor = model_flops(data, model, device) / (matmul_gflops(device) * 1e9)
    rows = [
        ["overlapvae (batched traversals, each image encoded once)", f"{ours:.2f}", "1.0×"],
        ["per-pair baseline, same process", f"{theirs:.2f}", f"{theirs / ours:.1f}×"],
    ]
    rows.append(
        [
            "model forward alone at this device's float32 matmul rate",
            f"{floor:.2f}",
            f"{floor / ours:.2f}×",
        ]
    )
    reference = (
        DisentReference(data, model, TRAVERSALS) if disent_installed() and device.type == "cpu" else None
    )
    if reference is not None:
        theirs_seconds = median_seconds(reference.run, max(1, arguments.repeats // 2), device, warmup=1)
        rows.append(
            [
                "disent's compute_factor_distances, this process",
                f"{theirs_seconds:.2f}",
                f"{theirs_seconds / ours:.1f}×",
            ]
        )
    if device.type == "cpu":
        rows.append(
            [
                "disent's compute_factor_distances, the figure recorded for a 2-core CPU",
                f"{DISENT_SECONDS}",
                f"{DISENT_SECONDS / ours:.1f}×",
            ]
        )
    print(f"device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"6 factors × {TRAVERSALS} traversals")
    print_table(["implementation", "seconds (median)", "time / overlapvae's"], rows)
    print(f"largest difference between the two implementations' matrices: {difference:.2e}")
    if reference is not None:
        image_difference = reference.check_images()
        print(f"disent's standardised images against overlapvae's: largest difference {image_difference:.1e}")
        agreement = largest_relative_difference(reference.run(), reference.overlapvae_on_recorded())
        print(
            "overlapvae on disent's traversals, same weights, largest difference relative to disent's "
            "matrices: " + ", ".join(f"{column} {value:.1e}" for column, value in agreement.items())
        )
    else:
        print("disent is not installed: its row is the recorded figure (see disent_reference.py to run it)")
    print("\nthe model's layers over the traversal images:")
    print_table(["layer", "output", "seconds", "GFLOP", "GFLOP/s"], layer_rows(data, model, device))
    print("\nthe audit's traversal matrices ([0, 1] images), one loss per pair against one Gram matrix:")
    print_table(
        [
            "data",
            "factors × traversals × values",
            "loss",
            "per pair s",
            "Gram s",
            "speed-up",
            "largest relative difference",
        ],
        pair_method_rows(max(1, arguments.repeats // 2 + 1), device),
    )


if __name__ == "__main__":
    main()
