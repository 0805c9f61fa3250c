"""Closed forms: DCI importance matrices and the Gaussian dependence scores."""

import numpy as np
import pytest

from overlapvae.metrics import completeness, disentanglement, gaussian_total_correlation
from overlapvae.metrics.dci import completeness_per_factor, disentanglement_per_code
from overlapvae.metrics.sap import continuous_score_matrix
from overlapvae.metrics.unsupervised import gaussian_wasserstein_correlation


def test_a_diagonal_importance_matrix_is_fully_disentangled_and_complete():
    importance = np.diag([0.5, 0.2, 0.3])
    assert disentanglement(importance) == pytest.approx(1.0, abs=1e-8)
    assert completeness(importance) == pytest.approx(1.0, abs=1e-8)


def test_a_uniform_or_empty_importance_matrix_scores_zero():
    for importance in (np.full((4, 3), 0.25), np.zeros((4, 3))):
        assert disentanglement(importance) == pytest.approx(0.0, abs=1e-8)
        assert completeness(importance) == pytest.approx(0.0, abs=1e-8)


def test_a_code_explaining_two_of_three_factors_scores_one_minus_log_two_over_log_three():
    importance = np.array([[0.3, 0.3, 0.0], [0.0, 0.0, 0.4]])
    per_code = disentanglement_per_code(importance)
    np.testing.assert_allclose(per_code, [1 - np.log(2) / np.log(3), 1.0], atol=1e-8)
    assert disentanglement(importance) == pytest.approx(0.6 * per_code[0] + 0.4, abs=1e-8)
    np.testing.assert_allclose(completeness_per_factor(importance), [1.0, 1.0, 1.0], atol=1e-8)


def test_gaussian_total_correlation_of_a_correlated_pair():
    for rho in (0.0, 0.5, 0.9):
        covariance = np.array([[2.0, rho * 2.0], [rho * 2.0, 2.0]])
        assert gaussian_total_correlation(covariance) == pytest.approx(-0.5 * np.log(1 - rho**2), abs=1e-12)


def test_gaussian_wasserstein_correlation_of_a_correlated_pair():
    # unit variances: 2 tr Σ − 2 tr Σ^½, with eigenvalues 1 ± ρ
    for rho in (0.0, 0.5, 0.9):
        covariance = np.array([[1.0, rho], [rho, 1.0]])
        expected = 4 - 2 * (np.sqrt(1 + rho) + np.sqrt(1 - rho))
        assert gaussian_wasserstein_correlation(covariance) == pytest.approx(expected, abs=1e-10)


def test_continuous_sap_scores_are_squared_correlations():
    rng = np.random.default_rng(0)
    codes, factors = rng.normal(size=(200, 3)), rng.normal(size=(200, 2))
    codes[:, 2] = 1.0  # no variance: scored 0
    expected = [[np.corrcoef(codes[:, i], factors[:, j])[0, 1] ** 2 for j in range(2)] for i in range(2)]
    scores = continuous_score_matrix(codes, factors)
    np.testing.assert_allclose(scores[:2], expected, atol=1e-12)
    np.testing.assert_array_equal(scores[2], [0.0, 0.0])
