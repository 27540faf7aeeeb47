"""``MultiheadAttention`` and the Transformer encoder with PyTorch's parameter names (state_dicts load from
torch) and forward semantics.

    >>> import torchlite as tl
    >>> mha = tl.nn.MultiheadAttention(8, 2)
    >>> [n for n, _ in mha.named_parameters()]
    ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']
"""
from __future__ import annotations

import copy
import math

import torchlite as _tl
from ..lazy import op_error
from . import functional as F
from . import init
from .containers import ModuleList
from .layers import Dropout, LayerNorm, Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder"]


class NonDynamicallyQuantizableLinear(Linear):
    pass


def _to_float_mask(mask, dtype, name, what):
    if mask is None:
        return None
    if mask.dtype == _tl.bool:
        return _tl.where(mask, float("-inf"), _tl.zeros((), dtype=dtype, device=mask.device))
    if not mask.is_floating_point():
        raise op_error(AssertionError, name, f"only bool and floating types of {what} are supported")
    return mask.to(dtype)


class MultiheadAttention(Module):
    """Multi-head attention: ``out_proj(concat_h softmax(q_h k_h^T / sqrt(d) + mask) v_h)``; bool masks mark
    positions NOT allowed to attend (True = masked), float masks are added."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        name = "MultiheadAttention"
        if embed_dim <= 0 or num_heads <= 0:
            raise op_error(ValueError, name, f"embed_dim and num_heads must be greater than 0, got embed_dim="
                           f"{embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise op_error(AssertionError, name, "embed_dim must be divisible by num_heads")
        if add_bias_kv or add_zero_attn or (kdim not in (None, embed_dim)) or (vdim not in (None, embed_dim)):
            raise op_error(NotImplementedError, name, "add_bias_kv, add_zero_attn and kdim/vdim != embed_dim are "
                           "not supported")
        self.embed_dim = embed_dim
        self.kdim = self.vdim = embed_dim
        self._qkv_same_embed_dim = True
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = Parameter(_tl.empty(3 * embed_dim, embed_dim, device=device, dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(_tl.empty(3 * embed_dim, device=device, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False):
        name = "MultiheadAttention"
        if is_causal and attn_mask is None:
            raise op_error(RuntimeError, name, "Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to create this mask.")
        batched = query.dim() == 3
        self_attention = query is key and key is value
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        # Work in the caller's layout: rows are (N, T) when batch_first, else (T, N); ``seq`` is the dim of T.
        seq = 1 if (batched and self.batch_first) else 0
        L, S = query.shape[seq], key.shape[seq]
        N, E = query.shape[1 - seq], query.shape[2]
        if E != self.embed_dim:
            raise op_error(AssertionError, name, f"was expecting embedding dimension of {self.embed_dim}, but got "
                           f"{E}")
        H, D = self.num_heads, self.head_dim
        w = self.in_proj_weight
        b = self.in_proj_bias

        def heads(t):                    # (T, N, H, D) or (N, T, H, D) -> (N, H, T, D): a view, never a copy
            return t.permute(1, 2, 0, 3) if seq == 0 else t.permute(0, 2, 1, 3)

        if self_attention:
            # One projection of the packed weight (what the compiler fuses with the attention), then views.
            qkv = F.linear(query, w, b).reshape(*query.shape[:2], 3, H, D)
            q, k, v = (heads(qkv.select(2, i)) for i in range(3))
        else:
            bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
            q = heads(F.linear(query, w[:E], bq).reshape(*query.shape[:2], H, D))
            k = heads(F.linear(key, w[E:2 * E], bk).reshape(*key.shape[:2], H, D))
            v = heads(F.linear(value, w[2 * E:], bv).reshape(*value.shape[:2], H, D))
        mask = _to_float_mask(attn_mask, q.dtype, name, "attn_mask")
        if mask is not None:
            if mask.dim() == 2:
                if tuple(mask.shape) != (L, S):
                    raise op_error(RuntimeError, name, f"The shape of the 2D attn_mask is {tuple(mask.shape)}, "
                                   f"but should be {(L, S)}.")
                mask = mask.reshape(1, 1, L, S)
            elif mask.dim() == 3:
                if tuple(mask.shape) != (N * H, L, S):
                    raise op_error(RuntimeError, name, f"The shape of the 3D attn_mask is {tuple(mask.shape)}, "
                                   f"but should be {(N * H, L, S)}.")
                mask = mask.reshape(N, H, L, S)
            else:
                raise op_error(RuntimeError, name, f"attn_mask's dimension {mask.dim()} is not supported")
        kpm = _to_float_mask(key_padding_mask, q.dtype, name, "key_padding_mask")
        if kpm is not None:
            if tuple(kpm.shape) != (N, S):
                raise op_error(AssertionError, name, f"expecting key_padding_mask shape of {(N, S)}, but got "
                               f"{tuple(kpm.shape)}")
            kpm = kpm.reshape(N, 1, 1, S)
            mask = kpm if mask is None else mask + kpm
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = _tl.matmul(q * (1.0 / math.sqrt(D)), k.transpose(-2, -1))
            if mask is not None:
                scores = scores + mask
            attn = F.softmax(scores, -1)
            if p > 0.0:
                attn = F.dropout(attn, p, True)
            out = _tl.matmul(attn, v)
        else:
            attn = None
            out = F.scaled_dot_product_attention(q, k, v, mask, p)
        # (N, H, L, D) -> the caller's layout, heads concatenated
        out = (out.permute(2, 0, 1, 3) if seq == 0 else out.permute(0, 2, 1, 3)).reshape(*query.shape[:2], E)
        out = self.out_proj(out)
        if not batched:
            out = out.squeeze(1)
        if attn is not None:
            if average_attn_weights:
                attn = attn.mean(1)
            if not batched:
                attn = attn.squeeze(0)
        return out, attn

    def extra_repr(self) -> str:
        return ""


def _activation(activation):
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise op_error(RuntimeError, "TransformerEncoderLayer",
                       f"activation should be relu/gelu, not {activation}")
    return activation


class TransformerEncoderLayer(Module):
    """Self-attention block + feed-forward block, each residual with LayerNorm (post-norm, or pre-norm with
    ``norm_first=True``)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` applied in turn, then the optional ``norm``."""

    def __init__(self, encoder_layer, num_layers: int, norm=None, enable_nested_tensor: bool = True,
                 mask_check: bool = True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        out = src
        for mod in self.layers:
            out = mod(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        if self.norm is not None:
            out = self.norm(out)
        return out
