"""Encoders and decoders: the conv64 pair of the paper and a small fully-connected pair."""

from overlapvae.models.autoencoder import AutoEncoderModel, init_xavier_normal
from overlapvae.models.conv64 import Conv64
from overlapvae.models.fc import FullyConnected
