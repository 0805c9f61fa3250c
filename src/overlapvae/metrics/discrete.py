"""Histogram discretisation and discrete mutual information, as disentanglement_lib computes them
(``evaluation/metrics/utils.py``: ``_histogram_discretize``, ``discrete_mutual_info``,
``discrete_entropy``), vectorised with ``np.bincount`` instead of one sklearn call per pair."""

from __future__ import annotations

import numpy as np

from overlapvae.utils.validation import InvalidInputError


def histogram_discretise(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Bin each code dimension into ``num_bins`` equal-width bins over its own range.

    Bin ``k`` (1-based) holds ``edges[k-1] <= x < edges[k]`` of ``np.histogram``'s edges with the
    last edge dropped, so the maximum falls in bin ``num_bins``.
    """
    if num_bins < 2:
        raise InvalidInputError(f"num_bins={num_bins} is invalid: use at least 2 bins")
    discrete = np.empty(codes.shape, dtype=np.int64)
    for dim in range(codes.shape[1]):
        edges = np.histogram(codes[:, dim], num_bins)[1][:-1]
        discrete[:, dim] = np.digitize(codes[:, dim], edges)
    return discrete


def _dense_labels(labels: np.ndarray) -> tuple[np.ndarray, int]:
    values, dense = np.unique(labels, return_inverse=True)
    return dense.reshape(-1), len(values)


def _mutual_info_from_contingency(contingency: np.ndarray) -> float:
    """Mutual information in nats of the joint histogram ``contingency`` (sklearn's estimator)."""
    joint = contingency / contingency.sum()
    rows, cols = joint.sum(axis=1, keepdims=True), joint.sum(axis=0, keepdims=True)
    nonzero = joint > 0
    ratio = joint[nonzero] / (rows @ cols)[nonzero]
    return max(float(np.sum(joint[nonzero] * np.log(ratio))), 0.0)


def discrete_mutual_info(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[A, B]`` matrix of the mutual information (nats) between columns of integer arrays
    ``a [N, A]`` and ``b [N, B]``; equal to ``sklearn.metrics.mutual_info_score`` per pair."""
    if a.shape[0] != b.shape[0]:
        raise InvalidInputError(f"arrays differ in length: {a.shape[0]} against {b.shape[0]} points")
    dense_a = [_dense_labels(a[:, i]) for i in range(a.shape[1])]
    dense_b = [_dense_labels(b[:, j]) for j in range(b.shape[1])]
    result = np.zeros((a.shape[1], b.shape[1]))
    for i, (labels_a, size_a) in enumerate(dense_a):
        for j, (labels_b, size_b) in enumerate(dense_b):
            joint = np.bincount(labels_a * size_b + labels_b, minlength=size_a * size_b)
            result[i, j] = _mutual_info_from_contingency(joint.reshape(size_a, size_b).astype(np.float64))
    return result


def discrete_entropy(labels: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each column of an integer array ``[N, F]``: H(y) = I(y; y)."""
    entropies = np.empty(labels.shape[1])
    for j in range(labels.shape[1]):
        counts = np.bincount(_dense_labels(labels[:, j])[0]).astype(np.float64)
        p = counts / counts.sum()
        entropies[j] = -np.sum(p * np.log(p))
    return entropies
