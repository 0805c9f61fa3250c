"""The paper's evidence as a tool: ground-truth and perceived distances, traversal matrices, factor
importance, correlations, the overlap audit and its verdicts, and the distances of a trained model."""

from overlapvae.analysis.audit import RANDOM, DataAudit, FactorReport, audit_data
from overlapvae.analysis.correlation import linear_correlation, rank_correlation, traversal_triplet_agreement
from overlapvae.analysis.distances import (
    ground_truth_distance,
    pairs_to_matrix,
    perceived_distances,
    traversal_pair_distances,
    upper_pairs,
)
from overlapvae.analysis.importance import pair_distances, random_pairs, within_traversal_pairs
from overlapvae.analysis.model_distances import (
    COLUMNS,
    model_distance_matrices,
    symmetric_kl,
    traversal_model_matrices,
)
from overlapvae.analysis.overlap import IntervalOverlap, interval_overlap
from overlapvae.analysis.traversals import TraversalDistances, traversal_distances, traversal_factors
from overlapvae.analysis.verdict import CONSTANT, ORDERED, UNORDERED, VerdictThresholds
