"""K runs of one framework trained as one computation: a pack.

The members of a paper grid share a framework class, a model architecture and an image shape and
differ only in numbers (β, seed, the data set's parameters). A pack stacks the members' model
weights along a leading member axis (``torch.func.stack_module_state``) and evaluates every
member's own ``loss_terms`` at once with ``torch.func.vmap`` over ``functional_call``; a member's
numeric hyperparameters that differ (``beta``, ``gamma``, ...) are mapped along with its weights.
Members are independent: the gradient of the summed losses with respect to a member's weights is
the gradient of its own loss, and an elementwise optimiser (Adam) on the stacked weights takes
each member's own step. The ``ε`` of each member's reparameterisation is drawn from the member's
own generator (``MemberNoise``) in the shape its step needs, so a member sees the numbers it would
see trained alone from the same generator state.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from overlapvae.frameworks.autoencoder import AutoEncoder
from overlapvae.utils.validation import InvalidInputError

#: Saved hyperparameters that may differ with no effect of their own: shapes (checked on the
#: weights) and values derived from a float argument (``beta_sum_equivalent`` from ``beta``).
DESCRIPTIVE = ("image_shape", "latent_size", "recon_scale_matched", "beta_sum_equivalent")


def pack_incompatibility(members: Sequence[AutoEncoder]) -> str | None:
    """Why ``members`` cannot train as one pack (``None`` when they can): they must share the
    framework class, the model's class and weight shapes, the image shape, the reconstruction
    loss (class and tensors) and every setting but the framework's float arguments."""
    first = members[0]
    shapes = {name: value.shape for name, value in first.model.state_dict().items()}
    weights = float_arguments(type(first))
    for index, member in enumerate(members[1:], start=1):
        if type(member) is not type(first) or type(member.model) is not type(first.model):
            return (
                f"member {index} is {type(member).__name__}/{type(member.model).__name__}, member 0 is "
                f"{type(first).__name__}/{type(first.model).__name__}: a pack shares framework and model"
            )
        if {name: value.shape for name, value in member.model.state_dict().items()} != shapes:
            return f"member {index}'s model weights differ in shape from member 0's (latent size or widths)"
        if member.image_shape != first.image_shape:
            return f"member {index}'s images are {member.image_shape}, member 0's {first.image_shape}"
        if type(member.recon_loss) is not type(first.recon_loss):
            return (
                f"member {index} trains with {type(member.recon_loss).__name__}, member 0 with "
                f"{type(first.recon_loss).__name__}: a pack shares its reconstruction loss"
            )
        if not _same_state(member.recon_loss, first.recon_loss):
            loss = type(member.recon_loss).__name__
            return f"member {index}'s {loss} holds other tensors (e.g. its kernel) than member 0's"
        for name, value in member.hparams.items():
            other = first.hparams.get(name)
            if name not in DESCRIPTIVE and value != other and name not in weights:
                return (
                    f"member {index} sets {name}={value!r}, member 0 {name}={other!r}: members of a pack "
                    f"differ only in the framework's float arguments ({', '.join(sorted(weights))})"
                )
    return None


def _same_state(module: nn.Module, other: nn.Module) -> bool:
    state, other_state = module.state_dict(), other.state_dict()
    return state.keys() == other_state.keys() and all(torch.equal(state[k], other_state[k]) for k in state)


def float_arguments(kind: type[AutoEncoder]) -> set[str]:
    """The framework's ``float`` constructor arguments (loss weights such as ``beta``, ``gamma``):
    the settings members of a pack may differ in, mapped along the member axis."""
    hints = typing.get_type_hints(kind.__init__)
    return {name for name in inspect.signature(kind).parameters if hints.get(name) is float}


def varying_hyperparameters(members: Sequence[AutoEncoder]) -> list[str]:
    """The float arguments (``beta``, ...) whose value differs between members."""
    names = float_arguments(type(members[0]))
    return sorted(name for name in names if len({member.hparams[name] for member in members}) > 1)


def global_generator_state(device: torch.device | str = "cpu") -> Tensor:
    """The state of torch's global generator on ``device`` (CPU or the current CUDA device): what a
    run draws its ``ε`` from after it was built."""
    device = torch.device(device)
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state()


class MemberNoise:
    """Each member's own generator of ``ε`` on ``device``, started from the state torch's global
    generator there had when the member was built (``global_generator_state``): the draws the member
    would make trained alone after that build."""

    def __init__(self, states: Sequence[Tensor], device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.generators = [torch.Generator(self.device).set_state(state) for state in states]

    def draw(self, shape: Sequence[int]) -> Tensor:
        """``[K, *shape]`` standard normal draws, member ``k``'s from generator ``k``."""
        return torch.stack(
            [torch.empty(tuple(shape), device=self.device).normal_(generator=g) for g in self.generators]
        )


class _MemberStep(nn.Module):
    """A member's step as a module call, so ``functional_call`` can hand it the member's weights."""

    def __init__(self, framework: AutoEncoder) -> None:
        super().__init__()
        self.framework = framework

    def forward(self, images: Tensor, noise: Tensor | None, settings: dict[str, Tensor]) -> dict[str, Tensor]:
        framework = self.framework
        saved = {name: getattr(framework, name) for name in settings}
        try:
            for name, value in settings.items():
                setattr(framework, name, value)
            if noise is not None:
                framework.standard_normal = lambda like: noise
            return framework.loss_terms(images)
        finally:
            framework.__dict__.pop("standard_normal", None)
            for name, value in saved.items():
                setattr(framework, name, value)


class FrameworkPack(nn.Module):
    """``members`` (frameworks of one class and architecture) as one module: their model weights
    stacked ``[K, ...]`` as this module's parameters, their loss terms computed in one call.

    ``loss_terms(images)`` takes ``[K, *batch]`` (member ``k``'s batch at index ``k``) and returns
    each term as ``[K]``. Each member's model weights are views of its slice of the stack
    (``share_weights``), so a member's own methods (encode, decode, ``state_dict``) always see the
    pack's current weights, for its checkpoints, images and metrics. The pack's parameters are the
    stacked weights alone.
    """

    def __init__(self, members: Sequence[AutoEncoder]) -> None:
        super().__init__()
        if not members:
            raise InvalidInputError("a pack needs at least one member")
        reason = pack_incompatibility(members)
        if reason is not None:
            raise InvalidInputError(f"these runs cannot train as one pack: {reason}")
        self.members = list(members)
        params, buffers = stack_module_state([member.model for member in members])
        self.names = list(params)
        self.weights = nn.ParameterList(nn.Parameter(params[name]) for name in self.names)
        self.buffer_values = buffers
        self.settings = {
            name: torch.tensor([float(member.hparams[name]) for member in members])
            for name in varying_hyperparameters(members)
        }
        # member 0 runs every member's step with their weights swapped in; held in a list, so that
        # neither it nor its own weights become part of the pack
        self.step = [_MemberStep(members[0])]
        self.samples = hasattr(members[0], "standard_normal")
        self.batched_terms = self._batched_terms
        self.share_weights()

    @property
    def size(self) -> int:
        return len(self.members)

    def noise_shape(self, images: Tensor) -> tuple[int, ...]:
        """The shape of one member's ``ε``: its batch's shape less the image, then the latents
        (``[B, z]``; ``[B, 2, z]`` for a batch of pairs)."""
        return (*images.shape[1:-3], self.members[0].latent_size)

    def loss_terms(self, images: Tensor, noise: Tensor | None = None) -> dict[str, Tensor]:
        """Every member's ``loss_terms`` on its slice of ``images`` (and of ``noise``), as ``[K]``
        per term. ``noise`` is required when the framework samples (a VAE), else ignored."""
        if images.shape[0] != self.size:
            raise InvalidInputError(f"images hold {images.shape[0]} members' batches, the pack {self.size}")
        if self.samples and noise is None:
            raise InvalidInputError("this pack's framework samples: pass noise=MemberNoise.draw(...)")
        weights = {
            f"framework.model.{name}": value for name, value in zip(self.names, self.weights, strict=True)
        }
        buffers = {f"framework.model.{name}": value for name, value in self.buffer_values.items()}
        return self.batched_terms(weights, buffers, images, noise if self.samples else None, self.settings)

    def _member_terms(
        self, weights: dict, buffers: dict, images: Tensor, noise: Tensor | None, settings: dict
    ) -> dict[str, Tensor]:
        return functional_call(self.step[0], (weights, buffers), (images, noise, settings), strict=False)

    def _batched_terms(
        self, weights: dict, buffers: dict, images: Tensor, noise: Tensor | None, settings: dict
    ) -> dict[str, Tensor]:
        in_dims = (0, 0, 0, 0 if noise is not None else None, 0)
        return vmap(self._member_terms, in_dims=in_dims)(weights, buffers, images, noise, settings)

    def compile_step(self, mode: str = "default") -> None:
        """Compile the vmapped step with ``torch.compile`` (``reduce-overhead``: replayed as CUDA
        graphs), so that a step launches a few fused kernels instead of the members' many."""
        self.batched_terms = torch.compile(self._batched_terms, mode=mode)

    @torch.no_grad()
    def share_weights(self) -> None:
        """Make every member's model weights (and buffers) views of its slice of the pack's, on the
        pack's device: call again after the pack's weights moved (``nn.Module.to`` makes new ones)."""
        device = self.weights[0].device
        self.buffer_values = {name: value.to(device) for name, value in self.buffer_values.items()}
        self.settings = {name: value.to(device) for name, value in self.settings.items()}
        stacked = {**dict(zip(self.names, self.weights, strict=True)), **self.buffer_values}
        for index, member in enumerate(self.members):
            member.to(device)
            for name, tensor in [*member.model.named_parameters(), *member.model.named_buffers()]:
                tensor.data = stacked[name][index]
