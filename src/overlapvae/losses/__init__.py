"""Losses: pixel-wise reconstruction losses (plain, blurred, calibrated), Gaussian KL and the
total-correlation estimators."""

from overlapvae.losses.calibrated import CalibratedLoss
from overlapvae.losses.divergence import gaussian_log_density, kl_to_standard_normal
from overlapvae.losses.kernel import KernelLoss, box_kernel, convolve, gaussian_kernel, load_kernel
from overlapvae.losses.reconstruction import BCEWithLogitsLoss, L1Loss, MSELoss, ReconstructionLoss
from overlapvae.losses.reduction import REDUCTIONS, reduce, reduce_sample_totals
from overlapvae.losses.total_correlation import KLDecomposition, decompose_kl, log_importance_weights
