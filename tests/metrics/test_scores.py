"""Every score on analytic cases, as disentanglement_lib's tests check them: a code per factor
(identity, or permuted and rescaled) scores near 1, codes of pure noise near 0 (or chance)."""

import numpy as np
import pytest
from cases import SIZES, identity, noise, permuted_rescaled

from overlapvae.metrics import (
    DCI,
    MIG,
    SAP,
    BetaVAEScore,
    FactorVAEScore,
    Unsupervised,
    mutual_information_gap,
    sap_score,
)
from overlapvae.metrics.sampling import sample_factors
from overlapvae.metrics.sap import discrete_score_matrix

GOOD = [identity, permuted_rescaled]
CHANCE = 1 / len(SIZES)


def run(metric, representation, seed=0):
    return metric(representation, SIZES, np.random.default_rng(seed))


@pytest.mark.parametrize("representation", GOOD)
def test_mig_of_a_code_per_factor_is_near_one(representation):
    # the gap falls short of 1 only by the histogram estimator's positive bias on independent pairs
    assert run(MIG(num_train=4000), representation)["discrete_mig"] == pytest.approx(1.0, abs=0.02)


def test_mig_of_noise_is_near_zero():
    assert run(MIG(num_train=4000), noise())["discrete_mig"] == pytest.approx(0.0, abs=0.02)


def test_mig_on_a_hand_built_discrete_case():
    # factor a uniform on 4 values, factor b uniform on 2, every combination 5 times
    a, b = np.meshgrid(np.arange(4), np.arange(2), indexing="ij")
    factors = np.repeat(np.stack([a.ravel(), b.ravel()], axis=1), 5, axis=0)
    # code 0 carries half of a (I = log 2 of H = log 4), code 1 all of b, code 2 is constant
    codes = np.stack([factors[:, 0] // 2, factors[:, 1], np.zeros(len(factors))], axis=1).astype(float)
    # gaps: a: (log 2 - 0) / log 4 = 1/2; b: (log 2 - 0) / log 2 = 1
    assert mutual_information_gap(codes, factors)["discrete_mig"] == pytest.approx(0.75, abs=1e-12)
    duplicated = np.concatenate([codes, codes[:, 1:2]], axis=1)  # b now has two full codes: gap 0
    assert mutual_information_gap(duplicated, factors)["discrete_mig"] == pytest.approx(0.25, abs=1e-12)


@pytest.mark.parametrize("representation", GOOD)
def test_dci_of_a_code_per_factor_is_near_one(representation):
    scores = run(DCI(num_train=1000, num_test=500, n_jobs=2), representation)
    assert scores["disentanglement"] == pytest.approx(1.0, abs=0.01)
    assert scores["completeness"] == pytest.approx(1.0, abs=0.01)
    assert scores["informativeness_train_accuracy"] == pytest.approx(1.0, abs=1e-9)
    assert scores["informativeness_test_accuracy"] == pytest.approx(1.0, abs=1e-9)


def test_dci_of_noise_is_near_zero_and_uninformative():
    scores = run(DCI(num_train=1000, num_test=500, n_jobs=2), noise())
    assert scores["disentanglement"] < 0.05 and scores["completeness"] < 0.05
    assert scores["informativeness_test_accuracy"] == pytest.approx(1 / 8, abs=0.04)


@pytest.mark.parametrize("representation", GOOD)
def test_continuous_sap_of_a_code_per_factor_is_near_one(representation):
    scores = run(SAP(num_train=3000, num_test=1000, continuous_factors=True), representation)
    assert scores["sap_score"] == pytest.approx(1.0, abs=0.01)


def test_discrete_sap_scores_a_perfect_code_against_chance():
    # the discrete score is a held-out accuracy, so an unrelated code scores chance, not 0: on binary
    # factors coded one each the gap is 1 - 1/2 (and on a many-valued factor a single linear
    # feature cannot isolate the middle values, so the identity's discrete SAP is lower still)
    rng = np.random.default_rng(0)
    factors = sample_factors((2, 2, 2), 4000, rng)
    train, test = factors[:2000], factors[2000:]
    matrix = discrete_score_matrix(train * 1.0, train, test * 1.0, test, rng)
    np.testing.assert_array_equal(np.diag(matrix), [1.0, 1.0, 1.0])
    assert matrix[~np.eye(3, dtype=bool)] == pytest.approx(0.5, abs=0.05)
    assert sap_score(train * 1.0, train, test * 1.0, test, rng)["sap_score"] == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("continuous", [False, True])
def test_sap_of_noise_is_near_zero(continuous):
    scores = run(SAP(num_train=3000, num_test=1000, continuous_factors=continuous), noise())
    assert scores["sap_score"] == pytest.approx(0.0, abs=0.03)


@pytest.mark.parametrize("representation", GOOD)
def test_factor_vae_of_a_code_per_factor_is_one(representation):
    scores = run(FactorVAEScore(num_train=500, num_eval=300, num_variance_estimate=1000), representation)
    assert scores == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 6}


def test_factor_vae_of_noise_is_near_chance():
    scores = run(FactorVAEScore(num_train=2000, num_eval=2000, num_variance_estimate=1000), noise())
    assert scores["eval_accuracy"] == pytest.approx(CHANCE, abs=0.05)


def test_factor_vae_counts_the_dimensions_it_keeps():
    def with_dead_dims(factors):
        return np.concatenate([identity(factors), np.full((len(factors), 3), 0.5)], axis=1)

    def score(threshold):
        metric = FactorVAEScore(
            num_train=300, num_eval=100, num_variance_estimate=500, prune_threshold=threshold
        )
        return run(metric, with_dead_dims)

    assert score(0.05) == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 6}
    assert score(0.0)["num_active_dims"] == 9  # the paper's threshold keeps even constant dims
    assert score(1e6) == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}


@pytest.mark.parametrize("representation", GOOD)
def test_beta_vae_score_of_a_code_per_factor_is_near_one(representation):
    scores = run(BetaVAEScore(num_train=1000, num_eval=500), representation)
    assert scores["train_accuracy"] == pytest.approx(1.0, abs=0.01)
    assert scores["eval_accuracy"] == pytest.approx(1.0, abs=0.01)


def test_beta_vae_score_of_noise_is_near_chance():
    scores = run(BetaVAEScore(num_train=1000, num_eval=1000), noise())
    assert scores["eval_accuracy"] == pytest.approx(CHANCE, abs=0.05)


def test_unsupervised_scores_of_independent_codes_are_near_zero():
    scores = run(Unsupervised(num_train=10_000), identity)
    assert scores["gaussian_total_correlation"] == pytest.approx(0.0, abs=0.01)
    assert scores["gaussian_wasserstein_correlation_norm"] == pytest.approx(0.0, abs=0.01)
    assert scores["mean_pairwise_mutual_info"] == pytest.approx(0.0, abs=0.01)


@pytest.mark.filterwarnings("ignore:Matrix is singular")  # two equal codes: a singular covariance
def test_unsupervised_mutual_info_of_copied_codes_is_their_entropy():
    scores = run(Unsupervised(num_train=10_000), lambda factors: identity(factors)[:, [0, 0]])
    assert scores["mean_pairwise_mutual_info"] == pytest.approx(np.log(8), abs=0.01)


@pytest.mark.parametrize(
    "metric",
    [
        MIG(500),
        DCI(200, 100, n_jobs=1),
        SAP(500, 200),
        FactorVAEScore(8, 50, 50, 200),
        BetaVAEScore(8, 50, 50),
    ],
    ids=lambda metric: type(metric).__name__,
)
def test_same_generator_seed_same_values_other_seed_other_samples(metric):
    first, again, other = run(metric, noise(1), 0), run(metric, noise(1), 0), run(metric, noise(1), 1)
    assert first == again
    assert first != other
