"""Cascading model-parameter randomisation: maps must change, the shared model must not."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from explainers.metrics import sanity_check
from explainers.metrics._common import spearman
from explainers.metrics.sanity import layers_top_down, private_copy
from models.errors import CancelledError
from tests.explainers import metric_methods as mt
from tests.explainers import metric_models as mm
from tests.explainers.metric_models import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def _snapshot(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.module.state_dict().items()}


def test_layers_are_listed_from_the_output_down():
    model, _, _ = mm.digits_model()
    assert layers_top_down(model.module) == ["fc2", "fc1", "conv2", "conv1"]


@pytest.mark.parametrize(("method", "fails"), [(mt.TSaliency(), ()), (mt.TIG(), ("absolute",))])
def test_signed_maps_lose_their_correlation_and_abs_ig_keeps_it(method, fails):
    """Adebayo et al. (2018): signed saliency and IG maps decorrelate on a randomised model,
    but |IG| keeps the input's structure, so IG fails the absolute variant and is flagged."""
    model, images, labels = mm.digits_model()
    finals = []
    for i in range(3):
        raw, target = images[i], int(labels[i])
        again = method.explain(model, raw, target)
        assert spearman(method.explain(model, raw, target), again) == 1.0  # trained vs trained
        result = sanity_check(model, raw, method, {}, seed=0, target=target)
        assert result.steps == ("fc2", "fc1", "conv2", "conv1")
        assert len(result.correlations) == len(result.other_correlations) == 4
        assert result.failed == fails and result.passed == (not fails)
        assert set(result.variants) == {"signed", "absolute"}
        finals.append(result.final)
    assert np.mean(np.abs(finals)) < 0.4  # the signed variant (the default curve)


def test_a_map_that_ignores_the_model_is_flagged():
    model, images, labels = mm.digits_model()
    result = sanity_check(model, images[0], mt.TInput(), {}, target=int(labels[0]), max_steps=2)
    assert result.correlations == (1.0, 1.0) and not result.passed
    assert result.steps == ("fc1", "conv1")  # two blocks: {fc2, fc1}, {conv2, conv1}


def test_the_shared_model_is_never_modified():
    model, images, labels = mm.digits_model()
    before, module, lock = _snapshot(model), model.module, model.lock
    p_before = model.predict(images[0])
    sanity_check(model, images[0], mt.TIG(), {"n_steps": 8}, target=int(labels[0]))
    after = _snapshot(model)
    assert model.module is module and model.lock is lock
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(not p.requires_grad for p in model.module.parameters())
    np.testing.assert_array_equal(model.predict(images[0]), p_before)
    assert lock.acquire(blocking=False)  # not left held
    lock.release()


def test_text_copies_rebind_the_embedding_layer():
    model = mm.TextToy()
    before = _snapshot(model)
    twin = private_copy(model, "t")
    assert twin.embedding_layer is twin.module.embed and twin.module is not model.module
    assert twin.lock is not model.lock and twin.info.name == "toy-text~t"
    result = sanity_check(model, "good movie but bad plot", mt.TIG(), {}, target=1)
    assert len(result.correlations) == 2  # head, embed
    assert all(torch.equal(before[k], v) for k, v in _snapshot(model).items())


def test_an_adapter_that_cannot_be_deep_copied_still_gets_a_private_module():
    model = mm.TextToy()
    model.other_lock = threading.Lock()  # deepcopy of a plain lock fails
    twin = private_copy(model, "x")
    assert twin.module is not model.module and twin.embedding_layer is twin.module.embed
    assert twin.other_lock is model.other_lock


def test_progress_and_cancel():
    model, images, labels = mm.digits_model()
    seen = []
    sanity_check(model, images[0], mt.TSaliency(), {}, target=0, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(CancelledError, match="step 1 of 4"):
        sanity_check(model, images[0], mt.TSaliency(), {}, target=0, progress=lambda d, t: False)
