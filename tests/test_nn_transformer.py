"""MultiheadAttention / TransformerEncoder vs torch with torch's state_dict loaded (eval, dropout 0)."""
import numpy as np
import pytest

import torchlite as tl

torch = pytest.importorskip("torch")


def _load(m, tm):
    m.double().load_state_dict({k: tl.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()}, strict=True)
    return m


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_mha_parameter_names_match_torch():
    m = tl.nn.MultiheadAttention(8, 2)
    tm = torch.nn.MultiheadAttention(8, 2)
    assert list(m.state_dict()) == list(tm.state_dict())
    assert tuple(m.in_proj_weight.shape) == (24, 8)
    assert np.all(m.in_proj_bias.numpy() == 0) and np.all(m.out_proj.bias.numpy() == 0)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "kpm", "causal_bool", "float_3d", "both"])
@pytest.mark.parametrize("avg", [True, False])
def test_mha_forward_backward_matches_torch(batch_first, masks, avg):
    E, H, L, N = 8, 2, 5, 3
    tm = torch.nn.MultiheadAttention(E, H, batch_first=batch_first).double()
    m = _load(tl.nn.MultiheadAttention(E, H, batch_first=batch_first), tm)
    shape = (N, L, E) if batch_first else (L, N, E)
    q, k = _x(shape, 1), _x(shape, 2)
    kw, tkw = {}, {}
    if masks in ("kpm", "both"):
        kpm = np.zeros((N, L), bool)
        kpm[0, -2:] = True
        kpm[2, 0] = True
        kw["key_padding_mask"], tkw["key_padding_mask"] = tl.tensor(kpm), torch.tensor(kpm)
    if masks in ("causal_bool", "both"):
        am = np.triu(np.ones((L, L), bool), 1)
        kw["attn_mask"], tkw["attn_mask"] = tl.tensor(am), torch.tensor(am)
    if masks == "float_3d":
        am = _x((N * H, L, L), 3)
        kw["attn_mask"], tkw["attn_mask"] = tl.tensor(am), torch.tensor(am)
    tq, tk = torch.tensor(q, requires_grad=True), torch.tensor(k, requires_grad=True)
    lq, lk = tl.tensor(q, requires_grad=True), tl.tensor(k, requires_grad=True)
    out, w = m(lq, lk, lk, average_attn_weights=avg, **kw)
    tout, tw = tm(tq, tk, tk, average_attn_weights=avg, **tkw)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    (out.sum() + (w * w).sum()).backward()
    (tout.sum() + (tw * tw).sum()).backward()
    np.testing.assert_allclose(lq.grad.numpy(), tq.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lk.grad.numpy(), tk.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(m.in_proj_weight.grad.numpy(), tm.in_proj_weight.grad.numpy(), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(m.out_proj.weight.grad.numpy(), tm.out_proj.weight.grad.numpy(), rtol=1e-9,
                               atol=1e-12)


def test_mha_need_weights_false_unbatched_and_causal_hint():
    tm = torch.nn.MultiheadAttention(6, 3).double()
    m = _load(tl.nn.MultiheadAttention(6, 3), tm)
    a = _x((4, 6))
    am = np.triu(np.ones((4, 4), bool), 1)
    out, w = m(tl.tensor(a), tl.tensor(a), tl.tensor(a), need_weights=False, attn_mask=tl.tensor(am), is_causal=True)
    tout, _ = tm(torch.tensor(a), torch.tensor(a), torch.tensor(a), need_weights=False, attn_mask=torch.tensor(am),
                 is_causal=True)
    assert w is None
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match=r"(?s)Need attn_mask.*test_nn_transformer\.py:\d+"):
        m(tl.tensor(a), tl.tensor(a), tl.tensor(a), is_causal=True)


def test_mha_bad_embed_dim_raises():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        tl.nn.MultiheadAttention(7, 2)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_matches_torch(norm_first, activation, batch_first):
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        tl_layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=activation,
                                                    batch_first=batch_first, norm_first=norm_first)
        tenc = torch.nn.TransformerEncoder(tl_layer, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
        tenc = tenc.double().eval()
        layer = tl.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=activation,
                                              batch_first=batch_first, norm_first=norm_first)
        enc = tl.nn.TransformerEncoder(layer, 2, norm=tl.nn.LayerNorm(8))
        assert list(enc.state_dict()) == list(tenc.state_dict())
        _load(enc, tenc).eval()
        L, N = 5, 3
        a = _x((N, L, 8) if batch_first else (L, N, 8))
        kpm = np.zeros((N, L), bool)
        kpm[1, -2:] = True
        causal = np.triu(np.full((L, L), float("-inf")), 1)
        x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y = enc(x, mask=tl.tensor(causal), src_key_padding_mask=tl.tensor(kpm))
        ty = tenc(tx, mask=torch.tensor(causal), src_key_padding_mask=torch.tensor(kpm))
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-11)
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
        g = dict(enc.named_parameters())["layers.0.linear1.weight"].grad.numpy()
        np.testing.assert_allclose(g, tenc.layers[0].linear1.weight.grad.numpy(), rtol=1e-8, atol=1e-10)
    finally:
        torch.backends.mha.set_fastpath_enabled(True)


def test_transformer_encoder_layers_are_independent_copies():
    layer = tl.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8)
    enc = tl.nn.TransformerEncoder(layer, 3)
    assert len(enc.layers) == 3
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))
    enc.train()
    y = enc(tl.randn(5, 2, 4))
    assert tuple(y.shape) == (5, 2, 4)


def test_transformer_encoder_layer_dropout_train_mode_runs_and_differs_from_eval():
    layer = tl.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.5)
    x = tl.randn(3, 2, 4)
    tl.manual_seed(0)
    y_train = layer(x)
    layer.eval()
    assert not np.allclose(y_train.numpy(), layer(x).numpy())
