"""A pack of K runs equals K runs trained alone: same seeds, data and ε give the same losses and
weights, to float32 tolerance (the batched convolutions sum in another order), for each framework
and members that differ in β (and the other loss weights), seed and grid spacing."""

from functools import partial

import pytest
import torch

from overlapvae.data import XYSquares
from overlapvae.frameworks import VAE, AdaGVAE, AutoEncoder, BetaTCVAE, BetaVAE
from overlapvae.frameworks.packed import (
    FrameworkPack,
    MemberNoise,
    global_generator_state,
    pack_incompatibility,
)
from overlapvae.losses import KernelLoss, L1Loss, MSELoss
from overlapvae.models import Conv64, FullyConnected

STEPS, BATCH = 4, 6
#: A member's losses over ``STEPS`` Adam steps, and its first step's gradients, against its run
#: alone. (Its weights after Adam steps are not compared element by element: Adam divides each
#: gradient by its running scale, so a gradient near zero, summed in another order, may move its
#: weight by another fraction of a whole step.)
RTOL, ATOL = 2e-4, 1e-5
GRADIENT_RTOL, GRADIENT_ATOL = 1e-4, 1e-7


def build(kind, seed, model=Conv64, loss=MSELoss, latent_size=4, **settings):
    """A member as a run builds it: the seed set first, then the framework (its initial weights)."""
    torch.manual_seed(seed)
    extra = {"dataset_size": 4096} if kind is BetaTCVAE else {}
    framework = kind(
        model=partial(model, latent_size=latent_size),
        recon_loss=loss(),
        optimizer=partial(torch.optim.Adam, lr=1e-3),
        image_shape=(3, 64, 64),
        **extra,
        **settings,
    )
    return framework, global_generator_state()


def batches(spacing, seed, pairs):
    """``STEPS`` batches of XYSquares images at ``spacing`` (pairs: two independent halves)."""
    data, generator = XYSquares(grid_spacing=spacing), torch.Generator().manual_seed(seed)
    shape = (BATCH, 2) if pairs else (BATCH,)
    count = BATCH * (2 if pairs else 1)
    return [
        data.render_float(data.sample_factors(count, generator)).reshape(*shape, 3, 64, 64)
        for _ in range(STEPS)
    ]


def train_alone(framework, state, data):
    """The run alone: its ε from the global generator as left by its build, Adam on its weights.
    Returns its losses and its first step's gradients."""
    torch.set_rng_state(state)
    optimizer = framework.configure_optimizers()
    losses, gradients = [], None
    for images in data:
        terms = framework.loss_terms(images)
        optimizer.zero_grad()
        terms["loss"].backward()
        gradients = gradients or {n: p.grad.clone() for n, p in framework.model.named_parameters()}
        optimizer.step()
        losses.append(terms["loss"].detach())
    return torch.stack(losses), gradients


MEMBERS = {
    BetaVAE: [{"beta": 0.0316}, {"beta": 1.0}, {"beta": 4.0}],
    BetaTCVAE: [{"beta": 6.0, "gamma": 1.0}, {"beta": 2.0, "gamma": 0.5}, {"beta": 1.0, "gamma": 1.0}],
    AdaGVAE: [{"beta": 0.0316}, {"beta": 1.0, "threshold_ratio": 0.3}, {"beta": 0.1}],
}


@pytest.mark.parametrize("kind", list(MEMBERS))
def test_a_pack_trains_each_member_as_its_run_alone(kind):
    seeds, spacings = [3, 11, 17], [8, 4, 1]
    pairs = kind is AdaGVAE
    data = [batches(spacing, seed, pairs) for spacing, seed in zip(spacings, seeds, strict=True)]
    alone = [build(kind, seed, **settings) for seed, settings in zip(seeds, MEMBERS[kind], strict=True)]
    expected = [train_alone(run, state, stream) for (run, state), stream in zip(alone, data, strict=True)]

    members = [build(kind, seed, **settings) for seed, settings in zip(seeds, MEMBERS[kind], strict=True)]
    pack = FrameworkPack([framework for framework, _ in members])
    noise = MemberNoise([state for _, state in members])
    optimizer = torch.optim.Adam(pack.parameters(), lr=1e-3)
    losses = []
    for step in range(STEPS):
        images = torch.stack([run[step] for run in data])
        terms = pack.loss_terms(images, noise.draw(pack.noise_shape(images)))
        optimizer.zero_grad()
        terms["loss"].sum().backward()
        if step == 0:
            for member, (_, gradients) in enumerate(expected):
                for name, weight in zip(pack.names, pack.weights, strict=True):
                    torch.testing.assert_close(
                        weight.grad[member], gradients[name], rtol=GRADIENT_RTOL, atol=GRADIENT_ATOL
                    )
        optimizer.step()
        losses.append(terms["loss"].detach())
    alone_losses = torch.stack([run_losses for run_losses, _ in expected])
    torch.testing.assert_close(torch.stack(losses, dim=1), alone_losses, rtol=RTOL, atol=ATOL)


def test_a_deterministic_autoencoder_packs_without_noise_and_its_members_see_the_packs_weights():
    members = [build(AutoEncoder, seed, model=FullyConnected)[0] for seed in (0, 1)]
    pack, images = FrameworkPack(members), torch.rand(2, BATCH, 3, 64, 64)
    assert {id(p) for p in pack.parameters()} == {id(w) for w in pack.weights}  # nothing else trains
    expected = torch.stack([member.loss_terms(x)["loss"] for member, x in zip(members, images, strict=True)])
    torch.testing.assert_close(pack.loss_terms(images)["loss"], expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        for weight in pack.weights:
            weight.add_(torch.arange(2.0).view(-1, *[1] * (weight.ndim - 1)))  # member k's weights + k
    for index, member in enumerate(members):
        for name, weight in zip(pack.names, pack.weights, strict=True):
            assert torch.equal(member.model.get_parameter(name), weight[index])


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (lambda: build(VAE, 1)[0], "is VAE/Conv64, member 0 is BetaVAE/Conv64"),
        (lambda: build(BetaVAE, 1, latent_size=9)[0], "weights differ in shape"),
        (lambda: build(BetaVAE, 1, loss=L1Loss)[0], "L1Loss"),
        (lambda: build(BetaVAE, 1, loss=partial(KernelLoss, radius=2))[0], "holds other tensors"),
    ],
)
def test_runs_that_differ_in_more_than_numbers_do_not_pack(other, message):
    members = [build(BetaVAE, 0, loss=partial(KernelLoss, radius=1))[0], other()]
    assert message in pack_incompatibility(members)
    with pytest.raises(ValueError, match="cannot train as one pack"):
        FrameworkPack(members)


def test_a_pack_refuses_a_batch_for_another_number_of_members_and_a_vae_without_noise():
    pack = FrameworkPack([build(BetaVAE, seed)[0] for seed in (0, 1)])
    with pytest.raises(ValueError, match="images hold 3 members' batches, the pack 2"):
        pack.loss_terms(torch.rand(3, BATCH, 3, 64, 64))
    with pytest.raises(ValueError, match="pass noise"):
        pack.loss_terms(torch.rand(2, BATCH, 3, 64, 64))


def test_a_compiled_pack_computes_what_the_eager_pack_computes():
    members = [build(BetaVAE, seed, model=FullyConnected, beta=0.1 * (seed + 1)) for seed in (0, 1)]
    frameworks, states = [member for member, _ in members], [state for _, state in members]
    eager, compiled = FrameworkPack(frameworks), FrameworkPack(frameworks)
    compiled.compile_step()
    images = torch.stack([batches(spacing, 0, pairs=False)[0] for spacing in (8, 4)])
    results = []
    for pack in (eager, compiled):
        terms = pack.loss_terms(images, MemberNoise(states).draw(pack.noise_shape(images)))
        terms["loss"].sum().backward()
        results.append((terms, [weight.grad for weight in pack.weights]))
    (eager_terms, eager_grads), (compiled_terms, compiled_grads) = results
    for name, value in eager_terms.items():
        torch.testing.assert_close(compiled_terms[name], value, rtol=1e-5, atol=1e-6)
    for compiled_grad, eager_grad in zip(compiled_grads, eager_grads, strict=True):
        torch.testing.assert_close(compiled_grad, eager_grad, rtol=GRADIENT_RTOL, atol=1e-6)
