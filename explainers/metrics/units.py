"""Units of removal for one input: pixels/superpixels, tokens or features, and how to remove them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from explainers.base import Attribution
from explainers.baselines import has_mask_token
from models.base import HasBaselines, HasEmbeddingLayer, HasImage, HasWordIds, ModelAdapter
from models.errors import InputError, UnsupportedError

PIXEL_LIMIT = 64 * 64  # images up to this size use single pixels as units by default
AUTO_SUPERPIXELS = 100  # SLIC segments for larger images
SPECIAL = re.compile(r"^(\[[A-Z]+\]|<[^<>\s]+>)$")  # [CLS] [SEP] [PAD] <s> </s> <pad> ...


@dataclass(frozen=True)
class Part:
    """One perturbed input tensor: which tensor, which values key, and each element's unit."""

    index: int  # position in the model's input tuple
    key: str | None  # "image"/"text" for fusion values, None otherwise
    umap: np.ndarray  # flat int, unit index per map element; -1 = never removed (specials)
    shape: tuple[int, ...]  # how umap broadcasts against one row of the input tensor
    map_shape: tuple[int, ...]  # the attribution map shape this part expects
    vmap: np.ndarray | None = None  # unit per attribution value when values are coarser (words)


@dataclass(frozen=True)
class Units:
    """An input split into n removable units, with the baseline removed units turn into."""

    x: tuple[torch.Tensor, ...]
    base: tuple[torch.Tensor, ...]
    parts: tuple[Part, ...]
    n: int
    unit: str  # "pixels", "superpixels", "tokens", "features", "pixels+tokens"
    baseline: str  # the baseline kind actually used

    def scores(self, a: Attribution | Any) -> np.ndarray:
        """Importance per unit: the attribution averaged over each unit's map elements."""
        values = a.values if isinstance(a, Attribution) else a
        sums, counts = np.zeros(self.n + 1), np.zeros(self.n + 1)
        for p in self.parts:
            v = values[p.key] if p.key is not None else values
            v = _fit(np.asarray(v, dtype=np.float64), p.map_shape).ravel()
            umap = p.umap if p.vmap is None else p.vmap
            idx = np.where(umap < 0, self.n, umap)
            sums += np.bincount(idx, weights=v, minlength=self.n + 1)
            counts += np.bincount(idx, minlength=self.n + 1)
        return sums[: self.n] / np.maximum(counts[: self.n], 1)

    def build(self, presence: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Inputs for presence rows [B, n] in [0, 1]: 1 keeps a unit, 0 replaces it by the baseline."""
        b = presence.shape[0]
        ext = torch.cat([presence.float(), presence.new_ones(b, 1, dtype=torch.float32)], dim=1)
        out = [t.expand(b, *t.shape[1:]) for t in self.x]
        for p in self.parts:
            idx = torch.as_tensor(np.where(p.umap < 0, self.n, p.umap), device=ext.device)
            m = ext[:, idx].view(b, *p.shape).to(self.x[p.index].device)
            x, base = self.x[p.index], self.base[p.index]
            if x.is_floating_point():
                out[p.index] = base + m.to(x.dtype) * (x - base)
            else:
                out[p.index] = torch.where(m > 0.5, x, base)
        return tuple(out)


def merged(a: Attribution) -> bool:
    """Whether a text attribution scores whole words (merge_words) rather than tokens."""
    return a.modality == "text" and bool(a.params.get("merge_words"))


def _fit(v: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """An image map resized (bilinear) to the input resolution when the shapes differ."""
    if v.shape == shape:
        return v
    if v.ndim != 2 or len(shape) != 2:
        raise InputError(f"attribution of shape {v.shape} does not fit the input {shape}")
    t = torch.as_tensor(v, dtype=torch.float32)[None, None]
    return F.interpolate(t, size=shape, mode="bilinear", align_corners=False)[0, 0].double().numpy()


def make_units(
    model: ModelAdapter, raw: Any, baseline: str | None = None, superpixels: int | None = None,
    words: bool = False, groups: np.ndarray | None = None,
) -> Units:
    """Split `raw` into units of removal for the model's modality (`words`: merged subwords).

    Images: `superpixels` = 0 for pixels, k > 0 for about k SLIC segments, None for auto
    (pixels up to 64x64, else AUTO_SUPERPIXELS segments: scattered single pixels of a large
    image are an unnatural removal that breaks the model even in random order).
    """
    x = model.preprocess(raw)
    x = x if isinstance(x, tuple) else (x,)
    x = tuple(t.detach() for t in x)
    modality = model.info.modality
    if modality == "image":
        return _image_units(model, raw, x, baseline, superpixels)
    if modality == "text":
        return _text_units(model, raw, x, baseline, words)
    if modality == "tabular":
        base, kind = _float_baseline(model, x[0], baseline)
        f = x[0].shape[-1]
        return Units(x, (base,), (Part(0, None, np.arange(f), (f,), (f,)),), f, "features", kind)
    if modality == "fusion":
        return _fusion_units(model, raw, x, baseline)
    if modality == "generation":
        return _prompt_units(model, x, baseline, groups)
    raise UnsupportedError(f"no units of removal for modality {modality!r}")


def _float_baseline(model: ModelAdapter, x: torch.Tensor, kind: str | None) -> tuple:
    kinds = tuple(model.baseline_kinds) if isinstance(model, HasBaselines) else ()
    kind = kind or (kinds[0] if kinds else "zero")  # the model's default, as the methods use
    if kind in ("zero", "zeros") and "zero" not in kinds:
        return torch.zeros_like(x), "zero"
    if kind not in kinds:
        raise InputError(f"baseline {kind!r} is not available; allowed: {sorted(set(kinds) | {'zero'})}")
    with model.lock, torch.no_grad():
        return model.baseline(x, kind).detach().to(x.device, x.dtype), kind


def _pixel_part(index: int, key: str | None, x: torch.Tensor, segments: np.ndarray | None) -> Part:
    h, w = x.shape[-2:]
    umap = np.arange(h * w) if segments is None else segments.ravel()
    return Part(index, key, umap, (1,) * (x.dim() - 3) + (h, w), (h, w))


def _image_units(model, raw, x, baseline, superpixels: int | None) -> Units:
    base, kind = _float_baseline(model, x[0], baseline)
    if superpixels is None:
        superpixels = 0 if x[0].shape[-2] * x[0].shape[-1] <= PIXEL_LIMIT else AUTO_SUPERPIXELS
    segments = _superpixels(model, raw, x[0], superpixels) if superpixels else None
    part = _pixel_part(0, None, x[0], segments)
    n = int(part.umap.max()) + 1
    return Units(x, (base,), (part,), n, "superpixels" if superpixels else "pixels", kind)


def _superpixels(model: ModelAdapter, raw: Any, x: torch.Tensor, n_segments: int) -> np.ndarray:
    from skimage.segmentation import slic

    if isinstance(model, HasImage):
        img = np.asarray(model.display_image(raw), dtype=np.float64) / 255.0
    else:
        img = x[0].permute(1, 2, 0).float().cpu().numpy()
    if img.shape[:2] != tuple(x.shape[-2:]):
        raise InputError(f"display image {img.shape[:2]} does not match the input {tuple(x.shape[-2:])}")
    seg = slic(img, n_segments=int(n_segments), start_label=0, channel_axis=-1)
    _, dense = np.unique(seg, return_inverse=True)  # labels 0..k-1 with no gaps
    return dense.reshape(seg.shape)


def _token_ids(model: ModelAdapter, kind: str | None) -> tuple[int, str]:
    kind = kind or "pad"
    if kind == "pad":
        return int(model.pad_token_id), kind
    if kind == "mask" and has_mask_token(model):
        return int(model.mask_token_id), kind
    allowed = ["pad"] + (["mask"] if has_mask_token(model) else [])
    raise InputError(f"text baseline {kind!r} is not available; allowed: {allowed}")


def _special(model: ModelAdapter, raw: Any, t: int) -> tuple[list[bool], list | None]:
    """Which token positions are special ([CLS], [SEP], <s>...), and the word ids if known."""
    word_ids = model.word_ids(raw) if isinstance(model, HasWordIds) else None
    if word_ids is not None and len(word_ids) == t:
        return [w is None for w in word_ids], list(word_ids)
    toks = model.tokens(raw) if isinstance(model, HasEmbeddingLayer) else model.units(raw)
    return ([bool(SPECIAL.match(str(s))) for s in toks] if len(toks) == t else [False] * t), None


def _token_umap(model: ModelAdapter, raw: Any, t: int, offset: int = 0) -> np.ndarray:
    """Unit index per token position; special tokens are never removed (-1)."""
    special, _ = _special(model, raw, t)
    umap, k = np.full(t, -1), offset
    for i, s in enumerate(special):
        if not s:
            umap[i], k = k, k + 1
    return umap


def _word_maps(model: ModelAdapter, raw: Any, t: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit per token, unit per merged value): subword pieces of one word form one unit.

    Mirrors explainers.methods merge_words: consecutive tokens with the same word id merge,
    special tokens stay values of their own (and are never removed).
    """
    special, word_ids = _special(model, raw, t)
    if word_ids is None:
        raise UnsupportedError(f"word-level units need word_ids() on {model.info.name!r}")
    umap, vmap, last, k = np.full(t, -1), [], object(), -1
    for i, w in enumerate(word_ids):
        if w is not None and w == last:
            umap[i] = k
            continue
        if special[i]:
            vmap.append(-1)
        else:
            k += 1
            umap[i] = k
            vmap.append(k)
        last = w
    return umap, np.asarray(vmap)


def _text_units(model, raw, x, baseline, words: bool = False) -> Units:
    if not isinstance(model, HasEmbeddingLayer):
        raise UnsupportedError(f"text model {model.info.name!r} has no pad_token_id to remove tokens with")
    pad, kind = _token_ids(model, baseline)
    ids = x[0]
    t = ids.shape[-1]
    umap, vmap = _word_maps(model, raw, t) if words else (_token_umap(model, raw, t), None)
    n = int(umap.max()) + 1 if (umap >= 0).any() else 0
    if n == 0:
        raise InputError("the text has no tokens to remove (only special tokens)")
    vshape = (t,) if vmap is None else (len(vmap),)
    part = Part(0, None, umap, (t,), vshape, vmap)
    return Units(x, (torch.full_like(ids, pad),), (part,), n, "words" if words else "tokens", kind)


def _prompt_units(model, x, baseline: str | None, groups: np.ndarray | None) -> Units:
    """Language model: every prompt token is removable (as in Captum's LLMAttribution), the
    attribution's words/spans (`groups`: token -> unit) removed together; token id 0 (the
    methods' default) or [PAD] in their place."""
    if baseline not in (None, "auto", "zero", "pad"):
        raise InputError(f"prompt baseline {baseline!r} is not available; allowed: "
                         "['zero', 'pad']")
    token, kind = (int(model.pad_token_id), "pad") if baseline == "pad" else (0, "zero")
    t = x[0].shape[-1]
    umap = np.arange(t) if groups is None else np.asarray(groups, dtype=np.int64)
    n = int(umap.max()) + 1
    vmap = None if groups is None else np.arange(n)
    part = Part(0, None, umap, (t,), (t,) if groups is None else (n,), vmap)
    unit = "tokens" if groups is None else "units"
    return Units(x, (torch.full_like(x[0], token),), (part,), n, unit, kind)


def _fusion_units(model, raw, x, baseline) -> Units:
    """Fusion: image pixels (image baseline) then text tokens ([PAD]) ranked together."""
    img_i = next(i for i, t in enumerate(x) if t.is_floating_point() and t.dim() == 4)
    txt_i = next(i for i, t in enumerate(x) if not t.is_floating_point())
    img = _pixel_part(img_i, "image", x[img_i], None)
    n_img = int(img.umap.size)
    t = x[txt_i].shape[-1]
    umap = _token_umap(model, raw, t, offset=n_img)  # fusion adapters take the whole raw dict
    txt = Part(txt_i, "text", umap, (t,), (t,))
    image_base, kind = _float_baseline(model, x[img_i], baseline)
    base = list(x)
    base[img_i] = image_base
    base[txt_i] = torch.full_like(x[txt_i], int(model.pad_token_id))
    n = n_img + int((umap >= 0).sum())
    return Units(x, tuple(base), (img, txt), n, "pixels+tokens", f"{kind}+pad")
