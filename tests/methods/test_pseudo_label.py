import torch

from advlab.methods.pseudo_label import round_share, select_pseudo_labels


def probs(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows)


def test_threshold_keeps_only_confident_predictions():
    p = probs([[0.95, 0.05], [0.6, 0.4], [0.2, 0.8], [0.01, 0.99]])
    sel = select_pseudo_labels(p, threshold=0.9, share=1.0)
    assert sel.indices.tolist() == [0, 3] and sel.labels.tolist() == [0, 1]


def test_every_predicted_class_gives_the_same_share_of_its_images():
    # class 0 is predicted 8 times (all very confident), class 1 only 4 times
    conf0 = [0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92]
    conf1 = [0.91, 0.95, 0.93, 0.99]
    p = probs([[c, 1 - c] for c in conf0] + [[1 - c, c] for c in conf1])
    sel = select_pseudo_labels(p, threshold=0.5, share=0.5)
    labels = sel.labels.tolist()
    assert labels.count(0) == 4 and labels.count(1) == 2  # half of each class, not the 6 most confident overall
    assert set(sel.indices.tolist()) == {0, 1, 2, 3, 8 + 3, 8 + 1}  # the most confident within each class


def test_selection_is_empty_when_nothing_is_confident():
    sel = select_pseudo_labels(torch.full((5, 10), 0.1), threshold=0.5, share=1.0)
    assert len(sel) == 0 and sel.labels.numel() == 0


def test_share_grows_to_everything_by_the_last_round():
    assert [round_share(r, 4) for r in range(4)] == [0.25, 0.5, 0.75, 1.0]
