import numpy as np
import pytest

from advlab.metrics.ranking import weighted_spearman


def test_perfect_and_reversed_agreement():
    scores = np.array([0.1, 0.5, 0.3, 0.9])
    assert weighted_spearman(scores, scores * 2 + 1) == pytest.approx(1.0)
    assert weighted_spearman(scores, -scores) == pytest.approx(-1.0)


def test_top_ranked_disagreement_costs_more_than_bottom():
    acc = np.arange(10.0)
    swap_top, swap_bottom = acc.copy(), acc.copy()
    swap_top[[8, 9]] = swap_top[[9, 8]]
    swap_bottom[[0, 1]] = swap_bottom[[1, 0]]
    assert weighted_spearman(swap_top, acc) < weighted_spearman(swap_bottom, acc) < 1.0


def test_constant_scores_have_no_correlation():
    assert np.isnan(weighted_spearman(np.ones(4), np.arange(4.0)))
