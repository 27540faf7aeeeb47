"""torchlite.utils.data: datasets, samplers, random_split, default_collate and DataLoader (torch's semantics)."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import torchlite as tl
from torchlite.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler,
                                  SequentialSampler, Subset, TensorDataset, default_collate, random_split)


def _ds(n: int = 10) -> TensorDataset:
    return TensorDataset(tl.arange(n * 2.0).reshape(n, 2), tl.arange(n))


def _labels(loader) -> list[list[int]]:
    return [y.tolist() for _, y in loader]


# -- datasets --------------------------------------------------------------------------------------------
def test_tensor_dataset_items_and_len():
    ds = _ds(4)
    assert len(ds) == 4
    x, y = ds[2]
    assert x.tolist() == [4.0, 5.0] and y.item() == 2 and y.shape == ()
    x, y = ds[-1]
    assert y.item() == 3


def test_tensor_dataset_size_mismatch_like_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(AssertionError, match="Size mismatch between tensors") as ours:
        TensorDataset(tl.zeros(3, 2), tl.zeros(4))
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        torch.utils.data.TensorDataset(torch.zeros(3, 2), torch.zeros(4))
    assert "[3, 4]" in str(ours.value)


def test_subset_and_concat():
    ds = _ds(6)
    sub = Subset(ds, [5, 0, 3])
    assert len(sub) == 3 and sub[0][1].item() == 5 and sub[2][1].item() == 3
    cat = ConcatDataset([sub, ds])
    assert len(cat) == 9 and cat[3][1].item() == 0 and cat[-1][1].item() == 5
    assert len(sub + ds) == 9
    with pytest.raises(IndexError, match="out of range"):
        cat[9]
    with pytest.raises(NotImplementedError):
        Dataset()[0]


# -- random_split ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (10, [0.5, 0.5]), (10, [0.3, 0.3, 0.4]), (11, [0.1, 0.2, 0.7]), (7, [0.25, 0.25, 0.25, 0.25]),
    (5, [1.0]), (3, [0.2, 0.8]),
])
def test_random_split_sizes_match_torch_and_are_disjoint(n, lengths):
    torch = pytest.importorskip("torch")
    parts = random_split(range(n), lengths, generator=tl.Generator().manual_seed(0))
    expect = [len(p) for p in torch.utils.data.random_split(range(n), lengths,
                                                             generator=torch.Generator().manual_seed(0))]
    assert [len(p) for p in parts] == expect
    items = [i for p in parts for i in (p[k] for k in range(len(p)))]
    assert sorted(items) == list(range(n))                      # disjoint and covering


def test_random_split_deterministic_with_generator_and_default_seed():
    a = random_split(range(20), [5, 15], generator=tl.Generator().manual_seed(3))
    b = random_split(range(20), [5, 15], generator=tl.Generator().manual_seed(3))
    c = random_split(range(20), [5, 15], generator=tl.Generator().manual_seed(4))
    assert a[0].indices == b[0].indices and a[0].indices != c[0].indices
    tl.manual_seed(9)
    d = random_split(range(20), [5, 15])
    tl.manual_seed(9)
    assert random_split(range(20), [5, 15])[1].indices == d[1].indices


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(range(10), [0.5, 1.2, -0.7])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [0.9, 0.1])


# -- samplers --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, bs, drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                         (2, 5, True), (0, 2, False)])
def test_batch_sampler_matches_torch(n, bs, drop):
    torch = pytest.importorskip("torch")
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop)
    ref = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), bs, drop)
    assert list(ours) == list(ref) and len(ours) == len(ref)


@pytest.mark.parametrize("bad, msg", [
    ({"batch_size": 0}, "batch_size should be a positive integer value, but got batch_size=0"),
    ({"batch_size": True}, "batch_size should be a positive integer value"),
    ({"drop_last": 1}, "drop_last should be a boolean value, but got drop_last=1"),
])
def test_batch_sampler_errors(bad, msg):
    kw = {"batch_size": 2, "drop_last": False, **bad}
    with pytest.raises(ValueError, match=msg):
        BatchSampler(range(4), **kw)


def test_random_sampler_permutation_and_replacement():
    g = tl.Generator().manual_seed(1)
    s = RandomSampler(range(50), generator=g)
    first, second = list(s), list(s)
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50)) and first != second
    assert len(s) == 50
    r = list(RandomSampler(range(5), replacement=True, num_samples=70, generator=g))
    assert len(r) == 70 and set(r) <= set(range(5)) and len(set(r)) == 5
    more = list(RandomSampler(range(4), num_samples=10, generator=g))
    assert len(more) == 10 and sorted(more[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(range(0))


# -- collate ---------------------------------------------------------------------------------------------
def test_default_collate_structures_like_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    def samples(lib):
        return [{"x": lib.tensor([float(i), 1.0]), "y": i, "w": 0.5 * i, "ok": i % 2 == 0, "name": f"s{i}",
                 "pair": (lib.tensor(i), [i, i + 1]), "np": np.full(2, i, np.float32)} for i in range(3)]

    ours, ref = default_collate(samples(tl)), torch_collate(samples(torch))
    assert list(ours) == list(ref)
    for key in ("x", "y", "w", "ok", "np"):
        assert ours[key].tolist() == ref[key].tolist(), key
        assert ours[key].dtype.name == str(ref[key].dtype).replace("torch.", ""), key
    assert ours["name"] == ref["name"] == ["s0", "s1", "s2"]
    assert type(ours["pair"]) is type(ref["pair"]) is list                 # tuples collate to lists
    assert ours["pair"][0].tolist() == ref["pair"][0].tolist()
    assert [t.tolist() for t in ours["pair"][1]] == [t.tolist() for t in ref["pair"][1]]


def test_default_collate_tuples_namedtuples_ordereddict_and_errors():
    batch = [(tl.ones(2, 3), 1), (tl.zeros(2, 3), 2)]
    xs, ys = default_collate(batch)
    assert xs.shape == (2, 2, 3) and ys.dtype is tl.int64 and ys.tolist() == [1, 2]
    Point = collections.namedtuple("Point", "x y")
    p = default_collate([Point(1.0, tl.tensor(2)), Point(3.0, tl.tensor(4))])
    assert isinstance(p, Point) and p.x.dtype is tl.float64 and p.y.tolist() == [2, 4]
    od = default_collate([collections.OrderedDict(b=1, a=2)] * 2)
    assert isinstance(od, collections.OrderedDict) and list(od) == ["b", "a"]
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        default_collate([object(), object()])


# -- DataLoader ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, bs, drop", [(10, 3, False), (10, 3, True), (10, 5, True), (4, 8, False),
                                         (4, 8, True)])
def test_dataloader_batches_len_and_drop_last_match_torch(n, bs, drop):
    torch = pytest.importorskip("torch")
    loader = DataLoader(_ds(n), batch_size=bs, drop_last=drop)
    ref = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(n * 2.0).reshape(n, 2),
                                                                      torch.arange(n)),
                                      batch_size=bs, drop_last=drop)
    assert len(loader) == len(ref)
    got = [(x.tolist(), y.tolist()) for x, y in loader]
    assert got == [(x.tolist(), y.tolist()) for x, y in ref]
    if got:
        x, y = next(iter(loader))
        assert x.dtype is tl.float32 and y.dtype is tl.int64 and x.shape[1:] == (2,)


def test_dataloader_shuffle_deterministic_with_seeded_generator_and_reshuffles():
    a = DataLoader(_ds(20), batch_size=4, shuffle=True, generator=tl.Generator().manual_seed(5))
    b = DataLoader(_ds(20), batch_size=4, shuffle=True, generator=tl.Generator().manual_seed(5))
    e1, e2 = _labels(a), _labels(a)
    assert e1 == _labels(b) and e2 == _labels(b)                  # same seed: same sequence of epochs
    assert e1 != e2                                               # a new order each epoch
    for epoch in (e1, e2):
        assert sorted(i for batch in epoch for i in batch) == list(range(20))
        assert [len(batch) for batch in epoch] == [4] * 5
    c = DataLoader(_ds(20), batch_size=4, shuffle=True, generator=tl.Generator().manual_seed(6))
    assert _labels(c) != e1


def test_dataloader_shuffle_uses_default_generator():
    loader = DataLoader(_ds(16), batch_size=16, shuffle=True)
    tl.manual_seed(123)
    first = _labels(loader)
    tl.manual_seed(123)
    assert _labels(loader) == first and first != [list(range(16))]


def test_dataloader_custom_sampler_collate_and_no_batching():
    ds = _ds(6)
    loader = DataLoader(ds, batch_size=2, sampler=[5, 4, 3, 2, 1, 0], collate_fn=lambda b: [y.item() for _, y in b])
    assert list(loader) == [[5, 4], [3, 2], [1, 0]] and len(loader) == 3
    bsl = DataLoader(ds, batch_sampler=[[0, 2], [4]])
    assert _labels(bsl) == [[0, 2], [4]] and len(bsl) == 2
    single = DataLoader(ds, batch_size=None)
    items = list(single)
    assert len(single) == 6 and items[1][1].item() == 1 and items[1][1].shape == ()


def test_dataloader_plain_list_dataset_of_dicts():
    data = [{"x": np.arange(3, dtype=np.float64) + i, "label": i} for i in range(5)]
    batches = list(DataLoader(data, batch_size=2))
    assert [b["label"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["x"].dtype is tl.float64 and batches[0]["x"].shape == (2, 3)


@pytest.mark.parametrize("kwargs, msg", [
    ({"sampler": [0, 1], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, "mutually exclusive with drop_last"),
    ({"batch_size": 0}, "batch_size should be a positive integer value"),
    ({"num_workers": -1}, "num_workers option should be non-negative"),
])
def test_dataloader_argument_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        DataLoader(_ds(4), **kwargs)


def test_dataloader_with_random_split_subsets():
    train, val = random_split(_ds(10), [0.8, 0.2], generator=tl.Generator().manual_seed(0))
    seen = [i for batch in _labels(DataLoader(train, batch_size=3)) for i in batch]
    seen += [i for batch in _labels(DataLoader(val, batch_size=3)) for i in batch]
    assert sorted(seen) == list(range(10)) and len(train) == 8
