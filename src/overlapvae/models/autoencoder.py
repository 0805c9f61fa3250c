"""The encoder/decoder pair every framework trains, and the reference weight initialisation."""

from __future__ import annotations

from torch import Tensor, nn

from overlapvae.utils.validation import InvalidInputError


def init_xavier_normal(module: nn.Module) -> None:
    """Xavier-normal (gain 1) weights and zero biases on every Linear/Conv layer, as the paper's models."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.xavier_normal_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class AutoEncoderModel(nn.Module):
    """An encoder ``x → [B, encoder_heads · latent_size]`` and a decoder ``z → [B, C, H, W]``.

    ``encoder_heads`` is set by the framework: 1 for an autoencoder's code, 2 for a diagonal
    Gaussian posterior's (mean, log-variance) halves.
    """

    #: What the framework passes a model's factory (a config node is a partial of the rest).
    injected: tuple[str, ...] = ("image_shape", "encoder_heads")

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        image_shape: tuple[int, int, int],
        latent_size: int,
        encoder_heads: int,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.image_shape = tuple(image_shape)
        self.latent_size = latent_size
        self.encoder_heads = encoder_heads
        init_xavier_normal(self)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)


def check_model_arguments(image_shape: tuple[int, int, int], latent_size: int, encoder_heads: int) -> None:
    """Raise ``ValueError`` for a malformed image shape, latent size or head count."""
    if len(image_shape) != 3 or min(image_shape) < 1:
        raise InvalidInputError(
            f"image_shape={tuple(image_shape)} is invalid: expected (channels, height, width)"
        )
    if latent_size < 1:
        raise InvalidInputError(f"latent_size={latent_size} is invalid: choose an integer >= 1")
    if encoder_heads < 1:
        raise InvalidInputError(f"encoder_heads={encoder_heads} is invalid: choose an integer >= 1")
