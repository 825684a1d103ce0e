"""Knowledge distillation: a smaller student, its held-out accuracy, the time bound, progress."""
from __future__ import annotations

import pytest
import torch

from models.compress import DistillConfig, accuracy, count_parameters, distill
from models.compress.distill import kd_loss
from models.errors import CancelledError, InputError, UnsupportedError
from tests.models.test_compress_stubs import (
    bag_model,
    digit_model,
    digit_train_rows,
    same_state,
    state_copy,
    text_rows,
)

FAST = DistillConfig(width=4, epochs=3, batch_size=64, lr=1e-2, max_train=800)


def test_kd_loss_closed_forms():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    y = torch.tensor([0])
    ce = torch.nn.functional.cross_entropy(logits, y)
    assert kd_loss(logits, logits, y, 3.0, 1.0) == pytest.approx(0.0, abs=1e-6)  # KL(p||p) = 0
    assert kd_loss(logits, logits, y, 3.0, 0.0) == pytest.approx(float(ce))


@pytest.mark.slow
def test_image_student_is_smaller_and_scored_on_the_held_out_split():
    teacher = digit_model()
    before = state_copy(teacher.module)
    seen = []
    r = distill(teacher, FAST, progress=lambda d, t: seen.append((d, t)),
                train_data=digit_train_rows())
    assert r.student_params == count_parameters(r.model.module) < r.teacher_params
    assert r.teacher_params == count_parameters(teacher.module)
    held_out = teacher.samples()
    assert r.accuracy == accuracy(r.model, held_out) and r.accuracy > 0.5  # chance is 0.1
    assert r.teacher_accuracy == accuracy(teacher, held_out)
    assert not r.stopped_early and r.steps_done == r.steps_total == 3 * 13
    assert seen[-1] == (39, 39) and len(r.losses) == 3
    assert r.model.info.name == "tiny-digits (distilled w4 T4 a0.7)"
    assert len(r.model.info.sha256) == 64 and r.model.info.sha256 != teacher.info.sha256
    assert r.model.conv_layers()["conv2"] is r.model.module.conv2
    assert same_state(teacher.module, before)


@pytest.mark.slow
def test_text_student_learns_from_the_teacher():
    teacher = bag_model()
    r = distill(teacher, DistillConfig(width=4, epochs=4, batch_size=32, lr=2e-2),
                train_data=text_rows(400, seed=7))
    assert r.student_params < r.teacher_params
    assert r.accuracy > 0.8
    assert r.model.embedding_layer is r.model.module.embedding
    assert r.model.predict("good film").shape == (2,)


def test_time_bound_stops_early_and_says_so():
    r = distill(digit_model(), DistillConfig(width=2, epochs=50, max_seconds=1e-9),
                train_data=digit_train_rows()[:100])
    assert r.stopped_early and r.steps_done < r.steps_total
    assert "time bound" in r.notice and 0.0 <= r.accuracy <= 1.0


def test_progress_returning_false_cancels():
    with pytest.raises(CancelledError, match="cancelled"):
        distill(digit_model(), FAST, progress=lambda d, t: False,
                train_data=digit_train_rows()[:100])


@pytest.mark.parametrize("bad", [{"temperature": 0}, {"alpha": 1.5}, {"width": 0}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(InputError, match=next(iter(bad))):
        DistillConfig(**bad)


def test_tabular_models_are_not_supported():
    from models.base import BaseAdapter, ModelInfo

    table = BaseAdapter(torch.nn.Linear(3, 2), ModelInfo("t", "tabular", ("a", "b"),
                                                         feature_names=("x", "y", "z")), "cpu")
    with pytest.raises(UnsupportedError, match="image models and text models"):
        distill(table, FAST, train_data=[([0.0, 1.0, 2.0], 0)])
