"""EnsV on hand-worked values: agreement of each candidate's argmax with the ensemble's."""

import pytest
import torch

from advlab.metrics.validators import ensv_scores


def test_ensv_scores_known_values():
    # three candidates, four images, two classes; the ensemble's mean probabilities are
    # image 0: (0.9+0.8+0.2)/3 = .633 -> 0; image 1: (.1+.4+.3)/3 = .267 -> 1;
    # image 2: (.6+.4+.4)/3 = .467 -> 1; image 3: (.2+.9+.3)/3 = .467 -> 1
    a = torch.tensor([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.2, 0.8]])  # argmax 0 1 0 1: agrees on 3 of 4
    b = torch.tensor([[0.8, 0.2], [0.4, 0.6], [0.4, 0.6], [0.9, 0.1]])  # argmax 0 1 1 0: 3 of 4
    c = torch.tensor([[0.2, 0.8], [0.3, 0.7], [0.4, 0.6], [0.3, 0.7]])  # argmax 1 1 1 1: 3 of 4
    d = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])  # with d: means .7 .425 .575 .575 -> 0 1 0 0
    assert ensv_scores([a, b, c]) == pytest.approx([0.75, 0.75, 0.75])
    assert ensv_scores([a, b, c, d]) == pytest.approx([0.75, 0.75, 0.25, 0.75])
    assert ensv_scores([a]) == [1.0]
    assert ensv_scores([]) == []
