"""The shared representation: encode once and per-call encoding agree; each observation is encoded
at most once per evaluation."""

import numpy as np
import pytest
import torch
from cases import Bars, LinearEncoder

from overlapvae.metrics import DCI, MIG, SAP, BetaVAEScore, EncodedRepresentation, FactorVAEScore, MetricSuite
from overlapvae.metrics import Unsupervised as UnsupervisedScores


@pytest.fixture
def bars():
    return Bars()


@pytest.fixture
def linear_encoder():
    return LinearEncoder()


def suite(**kwargs):
    metrics = {
        "mig": MIG(200),
        "dci": DCI(100, 50, n_jobs=1),
        "sap": SAP(200, 100),
        "factor_vae": FactorVAEScore(8, 40, 20, 100),
        "beta_vae": BetaVAEScore(4, 40, 20),
        "unsupervised": UnsupervisedScores(200),
    }
    return MetricSuite(metrics, **kwargs)


def test_codes_are_the_posterior_means_of_the_rendered_standardised_images(bars, linear_encoder):
    representation = EncodedRepresentation(linear_encoder.posterior, bars)
    factors = np.array([[0, 0, 0], [3, 2, 1], [1, 1, 3]])
    images = bars.render_standardised(torch.from_numpy(factors))
    expected = linear_encoder.posterior(images)[0].detach().numpy()
    np.testing.assert_allclose(representation(factors), expected, rtol=1e-6)
    unit = EncodedRepresentation(linear_encoder.posterior, bars, standardise=False)
    expected = linear_encoder.posterior(bars.render(torch.from_numpy(factors)) / 255.0)[0].detach().numpy()
    np.testing.assert_allclose(unit(factors), expected, rtol=1e-6)


def test_each_observation_is_encoded_once(bars, linear_encoder):
    representation = EncodedRepresentation(linear_encoder.posterior, bars, batch_size=7)
    factors = np.array([[1, 2, 3], [1, 2, 3], [0, 0, 0]])
    first = representation(factors)
    assert representation.num_encoded == 2
    np.testing.assert_array_equal(representation(factors[::-1]), first[::-1])
    assert representation.num_encoded == 2
    representation.encode_all()
    assert representation.num_encoded == bars.num_observations


def test_encode_once_and_per_call_encoding_give_identical_values(bars, linear_encoder):
    once = suite(encode_once=True).evaluate(linear_encoder.posterior, bars)
    on_demand = suite(encode_once=False).evaluate(linear_encoder.posterior, bars)
    per_call = suite().evaluate(linear_encoder.posterior, bars, cache=False)
    assert not once.errors and once.values == on_demand.values == per_call.values
    assert len(once.values) == 15
    assert once.num_encoded == bars.num_observations  # the automatic choice here: far fewer than asked
    assert per_call.num_encoded == suite().requested_observations()
    assert suite().requested_observations() == 200 + 150 + 300 + (100 + 8 * 60) + 2 * 4 * 60 + 200


def test_encoding_the_whole_data_set_is_chosen_only_when_cheaper(bars, linear_encoder):
    small = MetricSuite({"mig": MIG(num_train=20)})
    assert small.evaluate(linear_encoder.posterior, bars).num_encoded < bars.num_observations


def test_sampled_representation_is_seeded_and_differs_from_the_mean(bars, linear_encoder):
    mean = suite().evaluate(linear_encoder.posterior, bars).values
    sampled = suite(representation="sampled").evaluate(linear_encoder.posterior, bars).values
    again = suite(representation="sampled").evaluate(linear_encoder.posterior, bars).values
    assert sampled == again and sampled != mean


def test_a_failing_metric_is_recorded_and_the_others_still_run(bars, linear_encoder):
    broken = MetricSuite({"mig": MIG(200, num_bins=1), "sap": SAP(200, 100)})
    evaluation = broken.evaluate(linear_encoder.posterior, bars)
    assert evaluation.errors == {"mig": "InvalidInputError: num_bins=1 is invalid: use at least 2 bins"}
    assert set(evaluation.values) == {"sap.sap_score"}


def test_bad_arguments_are_named(bars, linear_encoder):
    with pytest.raises(ValueError, match="representation='median'"):
        MetricSuite(representation="median")
    with pytest.raises(TypeError, match="metric 'mig' is a dict"):
        MetricSuite({"mig": {"num_train": 5}})
    representation = EncodedRepresentation(linear_encoder.posterior, bars)
    with pytest.raises(ValueError, match=r"factors outside the grid \(4, 3, 4\)"):
        representation(np.array([[0, 3, 0]]))
    deterministic = EncodedRepresentation(lambda x: (x.flatten(1)[:, :2], None), bars, sampled=True)
    with pytest.raises(ValueError, match="use representation=mean"):
        deterministic(np.array([[0, 0, 0]]))
