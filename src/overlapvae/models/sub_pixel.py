"""A kernel-4, stride-2, padding-1 transposed convolution that runs in its sub-pixel form when no
gradient is needed (analysis, evaluation, validation).

The output pixel 2m + a (a ∈ {0, 1}, per axis) sums two input pixels, m − 1 + a and m + a, through
kernel taps ``PHASE_TAPS[a]``; so all four output phases are one 2 × 2 convolution (padding 1) of
the input to 4·C_out channels, each phase reading its own (a, b)-shifted crop, followed by an
interleave. On a CPU this is about 2.5× faster than oneDNN's transposed convolution for the
conv64 decoder's three-channel output layer (``benchmarks/distances.py``); layers with 32 or 64
output channels, and every layer under training, are faster as ordinary transposed convolutions.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

#: The kernel taps (rows or columns) that reach output phase a from input pixels m − 1 + a, m + a.
PHASE_TAPS = ((3, 1), (2, 0))


class SubPixelConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1)``, the same parameters
    and values; without gradients it is computed as one 2 × 2 convolution and an interleave."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=4, stride=2, padding=1)

    def forward(self, images: Tensor) -> Tensor:
        needs_gradient = torch.is_grad_enabled() and (
            images.requires_grad or any(parameter.requires_grad for parameter in self.parameters())
        )
        if needs_gradient or images.ndim != 4:
            return super().forward(images)
        return self.sub_pixel(images)

    def phase_weight(self) -> tuple[Tensor, Tensor | None]:
        """The 2 × 2 convolution's weight ``[4·C_out, C_in, 2, 2]`` (phases (0,0), (0,1), (1,0), (1,1))
        and its bias (this layer's, once per phase)."""
        blocks = [
            self.weight[:, :, list(PHASE_TAPS[row])][:, :, :, list(PHASE_TAPS[column])]
            for row in (0, 1)
            for column in (0, 1)
        ]
        bias = None if self.bias is None else self.bias.repeat(4)
        return torch.cat(blocks, dim=1).transpose(0, 1).contiguous(), bias

    def sub_pixel(self, images: Tensor) -> Tensor:
        batch, _, height, width = images.shape
        channels = self.out_channels
        phases = F.conv2d(images, *self.phase_weight(), padding=1)  # [B, 4·C_out, H + 1, W + 1]
        batch_stride, channel_stride, row_stride, column_stride = phases.stride()
        # out[n, c, 2m + a, 2k + b] = phases[n, (2a + b)·C_out + c, m + a, k + b], as one strided view
        interleaved = phases.as_strided(
            (batch, channels, height, 2, width, 2),
            (
                batch_stride,
                channel_stride,
                row_stride,
                2 * channels * channel_stride + row_stride,
                column_stride,
                channels * channel_stride + column_stride,
            ),
        )
        output = phases.new_empty((batch, channels, 2 * height, 2 * width))
        output.view(batch, channels, height, 2, width, 2).copy_(interleaved)
        return output
