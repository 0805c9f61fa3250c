"""Discretisation and discrete mutual information against sklearn and closed forms."""

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from overlapvae.metrics.discrete import discrete_entropy, discrete_mutual_info, histogram_discretise


def test_histogram_bins_are_equal_width_with_the_maximum_in_the_last_bin():
    codes = np.array([[0.0], [0.49], [0.5], [0.99], [1.0]])
    assert histogram_discretise(codes, num_bins=2)[:, 0].tolist() == [1, 1, 2, 2, 2]
    twenty = histogram_discretise(np.linspace(0, 1, 21)[:, None], 20)[:, 0]
    assert twenty.tolist() == [*range(1, 21), 20]


def test_histogram_needs_two_bins():
    with pytest.raises(ValueError, match="num_bins=1"):
        histogram_discretise(np.zeros((3, 1)), 1)


def test_mutual_information_equals_sklearn_for_every_pair():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, size=(500, 3))
    b = np.concatenate([a[:, :1] // 2, rng.integers(3, 9, size=(500, 2))], axis=1)
    expected = [[mutual_info_score(b[:, j], a[:, i]) for j in range(3)] for i in range(3)]
    np.testing.assert_allclose(discrete_mutual_info(a, b), expected, atol=1e-12)


def test_entropy_of_uniform_and_deterministic_labels():
    labels = np.stack([np.repeat(np.arange(4), 25), np.zeros(100, dtype=int)], axis=1)
    np.testing.assert_allclose(discrete_entropy(labels), [np.log(4), 0.0], atol=1e-12)


def test_mutual_information_of_a_half_informative_code_is_log_two():
    factor = np.repeat(np.arange(4), 10)[:, None]  # uniform on 4 values: H = log 4
    np.testing.assert_allclose(discrete_mutual_info(factor // 2, factor), [[np.log(2)]], atol=1e-12)
    np.testing.assert_allclose(discrete_mutual_info(factor, factor), [[np.log(4)]], atol=1e-12)
