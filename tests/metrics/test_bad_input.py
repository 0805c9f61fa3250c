"""Bad input: a ValueError that names the problem."""

import numpy as np
import pytest

from overlapvae.metrics import (
    DCI,
    MIG,
    FactorVAEScore,
    dci_scores,
    mutual_information_gap,
    unsupervised_scores,
)


def factors_and_codes(n=50):
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, size=(n, 2))
    return rng.normal(size=(n, 3)), factors


def test_codes_and_factors_of_different_lengths():
    codes, factors = factors_and_codes()
    with pytest.raises(ValueError, match="differ in length: 49 points of codes against 50"):
        mutual_information_gap(codes[:-1], factors)


def test_a_factor_with_one_value():
    codes, factors = factors_and_codes()
    factors[:, 1] = 2
    with pytest.raises(ValueError, match=r"factor column\(s\) \[1\] take a single value"):
        mutual_information_gap(codes, factors)


def test_nan_codes_name_the_dimension():
    codes, factors = factors_and_codes()
    codes[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"1 non-finite values .* dimensions \[2\]"):
        dci_scores(codes, factors, codes, factors, np.random.default_rng(0))
    with pytest.raises(ValueError, match="non-finite"):
        unsupervised_scores(codes)


def test_fewer_samples_than_a_metric_needs():
    codes, factors = factors_and_codes()
    with pytest.raises(ValueError, match="has 1 points; this metric needs at least 2"):
        mutual_information_gap(codes[:1], factors[:1])
    with pytest.raises(ValueError, match="num_train=1 is too small"):
        MIG(num_train=1)
    with pytest.raises(ValueError, match="num_test=0 is too small"):
        DCI(num_train=100, num_test=0)
    with pytest.raises(ValueError, match="batch_size=1 is too small"):
        FactorVAEScore(batch_size=1)
    with pytest.raises(ValueError, match="prune_threshold=-1"):
        FactorVAEScore(prune_threshold=-1)


def test_a_gap_needs_two_codes():
    codes, factors = factors_and_codes()
    with pytest.raises(ValueError, match="at least 2 code dimensions"):
        mutual_information_gap(codes[:, :1], factors)
