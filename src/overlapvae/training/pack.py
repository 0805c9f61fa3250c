"""A pack of runs as one LightningModule: K runs' frameworks trained by one optimiser in one loop.

Members are grouped into ``FrameworkPack``s (``group_members``): members of a group share the
framework class, architecture, loss and batch shape and train as one vmapped computation; groups
that differ (an L1 and an MSE half of a grid, a β-VAE and an Ada-GVAE) run one after the other in
the same step. Each member draws its batch from its own data module (its own data set, rendered on
the device) and its ``ε`` from its own generator, so it sees the numbers it would see trained alone.
The running means of each member's loss terms are kept on the device and logged to the member's own
loggers every ``log_every_n_steps`` steps, as ``AutoEncoder.training_step`` logs them (one host
sync per log, none per step). Everything else a member writes (checkpoints, images, metrics) is
``overlapvae.training.pack_members``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import Logger
from torch import Tensor, nn

from overlapvae.data import GroundTruthDataModule
from overlapvae.frameworks import AutoEncoder
from overlapvae.frameworks.packed import FrameworkPack, MemberNoise, pack_incompatibility


@dataclass
class PackMember:
    """One run of a pack: its framework and data module as built for it alone, its loggers, the
    state of the global generator on the training device right after it was built (where its ``ε``
    come from) and ``group_key``: what else must be equal for two members to share a vmapped group
    (the model's and data module's settings that the built objects do not show)."""

    framework: AutoEncoder
    datamodule: GroundTruthDataModule
    noise_state: Tensor
    loggers: Sequence[Logger] = ()
    group_key: str = ""
    optimizer_state: dict[str, Any] | None = None


def group_members(members: Sequence[PackMember]) -> list[list[int]]:
    """Member indices in groups that can train as one ``FrameworkPack``: the first group a member
    is compatible with (same ``group_key``, batch size, pair mode; ``pack_incompatibility``)."""
    groups: list[list[int]] = []
    for index, member in enumerate(members):
        for group in groups:
            first = members[group[0]]
            same_batches = (first.datamodule.batch_size, first.datamodule.pair_mode) == (
                member.datamodule.batch_size,
                member.datamodule.pair_mode,
            )
            if (
                first.group_key == member.group_key
                and same_batches
                and pack_incompatibility([first.framework, member.framework]) is None
            ):
                group.append(index)
                break
        else:
            groups.append([index])
    return groups


@dataclass
class RunningMeans:
    """A group's sums of each loss term over the open logging window, ``[K]`` per term."""

    sums: dict[str, Tensor] = field(default_factory=dict)

    def add(self, terms: dict[str, Tensor]) -> None:
        for name, value in terms.items():
            value = value.detach()
            self.sums[name] = self.sums[name] + value if name in self.sums else value.clone()


class PackedTraining(L.LightningModule):
    """Trains ``members`` from step ``start_step`` (all members resume from the same step), each
    group's vmapped step compiled in ``compile_mode`` when one is given.

    ``training_step`` returns the sum of the members' losses: each member's weights get the
    gradient of its own loss. The optimiser is member 0's (the members of a pack share it), over
    the stacked weights; a member's ``optimizer_state`` (from its checkpoint) is restored into its
    slice of the optimiser's state.
    """

    def __init__(
        self, members: Sequence[PackMember], start_step: int = 0, compile_mode: str | None = None
    ) -> None:
        super().__init__()
        self.members = list(members)
        self.groups = group_members(self.members)
        #: each member's group and its position on that group's member axis
        self.places = {
            index: (number, group.index(index)) for number, group in enumerate(self.groups) for index in group
        }
        self.packs = nn.ModuleList(
            FrameworkPack([self.members[index].framework for index in group]) for group in self.groups
        )
        self.start_step = start_step
        if compile_mode is not None:
            for pack in self.packs:
                pack.compile_step(compile_mode)
        self.noise: list[MemberNoise] = []
        self.windows = [RunningMeans() for _ in self.groups]
        self.window_steps = 0
        self.first_nonfinite = [torch.full((len(group),), -1) for group in self.groups]
        self.batches: list[tuple[Tensor, Tensor] | None] = [None] * len(self.members)
        self.last_logged: list[dict[str, float]] = [{} for _ in self.members]

    @property
    def step(self) -> int:
        """The members' step: the steps they had trained before this fit and those since."""
        return self.start_step + self.global_step

    def on_fit_start(self) -> None:
        """Put every member and its ``ε`` generator on the training device, their weights views
        of the stacked ones there."""
        for pack in self.packs:
            pack.share_weights()
        self.noise = [
            MemberNoise([self.members[index].noise_state for index in group], self.device)
            for group in self.groups
        ]
        self.first_nonfinite = [marks.to(self.device) for marks in self.first_nonfinite]

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        step = self.step
        total = torch.zeros((), device=self.device)
        for group, pack, noise, window, marks in zip(
            self.groups, self.packs, self.noise, self.windows, self.first_nonfinite, strict=True
        ):
            images = []
            for index in group:
                member = self.members[index]
                self.batches[index] = member.datamodule.sample_batch()
                images.append(member.framework.prepare_batch(self.batches[index]))
                loss = member.framework.recon_loss
                loss.smoothing = loss.smoothing_at(step)
            stacked = torch.stack(images)
            terms = pack.loss_terms(stacked, noise.draw(pack.noise_shape(stacked)) if pack.samples else None)
            window.add(terms)
            fresh = ~torch.isfinite(terms["loss"].detach()) & (marks < 0)
            marks.copy_(torch.where(fresh, step + 1, marks))  # counted as trainer.global_step counts
            total = total + terms["loss"].sum()
        self.window_steps += 1
        interval = self.trainer.log_every_n_steps
        if interval > 0 and (step + 1) % interval == 0:
            self.log_running_means(step)
        return total

    def window_means(self) -> list[dict[str, float]]:
        """Each member's mean of every term over the open window (one host sync), ``{}`` when the
        window is empty."""
        means: list[dict[str, float]] = [{} for _ in self.members]
        if self.window_steps == 0:
            return means
        for group, window in zip(self.groups, self.windows, strict=True):
            for name, sums in window.sums.items():
                for index, value in zip(group, (sums / self.window_steps).tolist(), strict=True):
                    means[index][f"train/{name}"] = value
        return means

    def log_running_means(self, step: int) -> None:
        """Log each member's window as ``train/<term>`` at ``step`` to its loggers, then start a
        new window (``AutoEncoder.training_step``'s log, member by member)."""
        for index, means in enumerate(self.window_means()):
            member = self.members[index]
            self.last_logged[index].update(means)
            epoch = step // member.datamodule.steps_per_epoch
            for logger in member.loggers:
                logger.log_metrics({**means, "epoch": epoch}, step=step)
        self.windows = [RunningMeans() for _ in self.groups]
        self.window_steps = 0

    def final_losses(self, index: int) -> dict[str, float]:
        """Member ``index``'s last logged means, refreshed by the open window
        (``AutoEncoder.final_losses``)."""
        return {**self.last_logged[index], **self.window_means()[index]}

    def nonfinite_steps(self) -> list[int]:
        """Each member's first step with a non-finite loss, -1 where none (one host sync)."""
        steps = [-1] * len(self.members)
        for group, marks in zip(self.groups, self.first_nonfinite, strict=True):
            for index, step in zip(group, marks.tolist(), strict=True):
                steps[index] = step
        return steps

    def member_window(self, index: int) -> tuple[dict[str, Tensor], int]:
        """Member ``index``'s sums over the open window and the window's steps (for its checkpoint)."""
        number, position = self.places[index]
        return {name: sums[position] for name, sums in self.windows[number].sums.items()}, self.window_steps

    def restore_window(self, sums: Sequence[dict[str, Tensor]], steps: int, logged: Sequence[dict]) -> None:
        """Reopen the window and last logged means each member's checkpoint saved."""
        self.window_steps = steps
        self.last_logged = [dict(values) for values in logged]
        if steps == 0:
            return
        for group, window in zip(self.groups, self.windows, strict=True):
            names = sums[group[0]].keys()
            window.sums = {name: torch.stack([sums[index][name] for index in group]) for name in names}

    def member_optimizer_state(self, optimizer: torch.optim.Optimizer, index: int) -> dict[str, Any]:
        """Member ``index``'s slice of the optimiser's state, as the ``state_dict`` of an optimiser
        over its own model's parameters (what a run trained alone saves)."""
        number, position = self.places[index]
        pack = self.packs[number]
        state = {
            number: {
                key: value.clone() if value.ndim == 0 else value[position].clone()
                for key, value in optimizer.state.get(weight, {}).items()
            }
            for number, weight in enumerate(pack.weights)
        }
        settings = {key: value for key, value in optimizer.param_groups[0].items() if key != "params"}
        return {"state": state, "param_groups": [{**settings, "params": list(range(len(pack.weights)))}]}

    def member_noise_state(self, index: int) -> Tensor:
        """The state of member ``index``'s ``ε`` generator (its noise state before training)."""
        if not self.noise:
            return self.members[index].noise_state
        number, position = self.places[index]
        return self.noise[number].generators[position].get_state()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        optimizer = self.members[0].framework.optimizer_factory(self.parameters())
        if any(member.optimizer_state is not None for member in self.members):
            optimizer.load_state_dict(self._stacked_optimizer_state(optimizer))
        return optimizer

    def _stacked_optimizer_state(self, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        """The optimiser's state with each member's saved state in its slice (elementwise state,
        e.g. Adam's moments, is stacked; a shared step count is taken from member 0 of a group)."""
        state = optimizer.state_dict()
        offset = 0
        for group, pack in zip(self.groups, self.packs, strict=True):
            saved = [self.members[index].optimizer_state for index in group]
            if any(entry is None for entry in saved):
                raise ValueError("every member of a resumed pack needs its optimiser state")
            for position in range(len(pack.names)):
                entries = [entry["state"][position] for entry in saved]
                state["state"][offset + position] = {
                    key: value if value.ndim == 0 else torch.stack([entry[key] for entry in entries])
                    for key, value in entries[0].items()
                }
            offset += len(pack.names)
        return state
