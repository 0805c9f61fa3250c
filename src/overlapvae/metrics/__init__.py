"""Disentanglement metrics (disentanglement_lib definitions) and their presets.

The scores are pure functions on arrays (``mutual_information_gap``, ``dci_scores``, ``sap_score``,
``unsupervised_scores``) or,
where they sample batches with a factor held fixed, on a representation function, the factor sizes
and an explicit ``np.random.Generator`` (``factor_vae_score``, ``beta_vae_score``). The classes
(``MIG``, ``DCI``, ...) fix their sample sizes for a preset.
"""

from overlapvae.metrics.base import Metric
from overlapvae.metrics.beta_vae import BetaVAEScore, beta_vae_score
from overlapvae.metrics.dci import DCI, completeness, dci_scores, disentanglement
from overlapvae.metrics.factor_vae import FactorVAEScore, factor_vae_score
from overlapvae.metrics.mig import MIG, mutual_information_gap
from overlapvae.metrics.representation import EncodedRepresentation
from overlapvae.metrics.sampling import Representation, sample_codes, sample_factors
from overlapvae.metrics.sap import SAP, sap_score
from overlapvae.metrics.suite import Evaluation, MetricSuite
from overlapvae.metrics.unsupervised import (
    Unsupervised,
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    unsupervised_scores,
)
