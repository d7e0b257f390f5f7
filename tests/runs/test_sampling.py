import torch

from advlab.runs.sampling import IndexStream


def test_each_pass_is_a_permutation_and_passes_differ():
    stream = IndexStream(10, 3, seed=5)
    first = torch.cat([stream.indices(s) for s in range(3)])
    second = torch.cat([stream.indices(s) for s in range(3, 6)])
    assert len(set(first.tolist())) == 9 and len(set(second.tolist())) == 9
    assert not torch.equal(first, second)


def test_batches_depend_only_on_seed_and_step():
    a, b = IndexStream(100, 8, seed=1), IndexStream(100, 8, seed=1)
    for step in (0, 40, 3, 13):  # any order, as after a resume
        assert torch.equal(a.indices(step), b.indices(step))
    assert not torch.equal(IndexStream(100, 8, seed=2).indices(0), a.indices(0))


def test_batch_larger_than_data_is_a_clear_error():
    import pytest

    from advlab.errors import AdvlabError

    with pytest.raises(AdvlabError, match="batch size 8 is larger than the 5 images"):
        IndexStream(5, 8, seed=0)
