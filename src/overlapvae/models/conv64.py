"""The conv64 encoder/decoder of the paper's Table A3 (disent ``EncoderConv64``/``DecoderConv64``)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from overlapvae.models.autoencoder import AutoEncoderModel, check_model_arguments
from overlapvae.models.sub_pixel import SubPixelConvTranspose2d
from overlapvae.utils.validation import InvalidInputError


class Conv64(AutoEncoderModel):
    """Four stride-2 convolutions (32, 32, 64, 64; k4, pad 2) → FC 256 → FC heads·z, and its mirror.

    The decoder is FC 256 → FC 1024 → 64×4×4 → four stride-2 transposed convolutions
    (64, 32, 32, C; k4, pad 1) with no output activation. Images must be C × 64 × 64.
    """

    def __init__(self, image_shape: Sequence[int], latent_size: int = 25, encoder_heads: int = 1) -> None:
        image_shape = tuple(image_shape)
        check_model_arguments(image_shape, latent_size, encoder_heads)
        channels, height, width = image_shape
        if (height, width) != (64, 64):
            raise InvalidInputError(
                f"model=conv64 needs 64×64 images, got {height}×{width}; use model=fc for other sizes"
            )
        encoder = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=4, stride=2, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, kernel_size=4, stride=2, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, kernel_size=4, stride=2, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, kernel_size=4, stride=2, padding=2),
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(64 * 5 * 5, 256),
            nn.ReLU(inplace=True),
            nn.Linear(256, encoder_heads * latent_size),
        )
        decoder = nn.Sequential(
            nn.Linear(latent_size, 256),
            nn.ReLU(inplace=True),
            nn.Linear(256, 1024),
            nn.ReLU(inplace=True),
            nn.Unflatten(1, (64, 4, 4)),
            nn.ConvTranspose2d(64, 64, kernel_size=4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(64, 32, kernel_size=4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(32, 32, kernel_size=4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            SubPixelConvTranspose2d(32, channels),  # the same layer, faster without gradients
        )
        super().__init__(encoder, decoder, image_shape, latent_size, encoder_heads)
