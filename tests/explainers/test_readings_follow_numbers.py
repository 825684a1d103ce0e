"""Trust readings state their numbers and every conclusion follows from them."""
from __future__ import annotations

import re

import pytest

from explainers.metrics.captum_metrics import Infidelity
from explainers.metrics.reading import infidelity_reading, sanity_reading
from explainers.metrics.sanity import Sanity

SETTINGS = {"perturbation": "removal", "noise": 0.25, "unit": "features", "output": "logit"}


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


@pytest.mark.parametrize(("value", "relative"), [(1.01, 0.03), (0.4, 0.5), (2.0, 0.999),
                                                 (5.0, 1.25)])
def test_infidelity_reading_states_the_relative_number_its_share_comes_from(value, relative):
    """'Infidelity 1.01 ... accounts for 97%' read as a contradiction: the 97% came from the
    relative infidelity (0.03), which the sentence did not state."""
    text = infidelity_reading(Infidelity(value, relative, SETTINGS))
    nums = _numbers(text)
    assert round(value, 2) in [round(n, 2) for n in nums]
    assert f"relative infidelity is {relative:.2g}" in text
    spread = value / relative
    assert f"moves by {spread:.3g}" in text  # value = relative x the output's own movement
    share = re.search(r"accounts for (\d+)%", text)
    if relative < 1:
        assert int(share.group(1)) == round(100 * (1 - relative))
    else:
        assert share is None and "accounts for none" in text


def test_infidelity_reading_without_output_movement_claims_no_share():
    text = infidelity_reading(Infidelity(0.0, None, SETTINGS))
    assert "accounts for" not in text and "did not move" in text


def _sanity(signed: float, absolute: float, threshold: float = 0.5) -> Sanity:
    passed = signed < threshold and absolute < threshold
    return Sanity("integrated_gradients", ("fc2", "conv1"), (0.4, signed), passed, threshold,
                  {"absolute": False, "layers": 4}, (0.99, absolute))


@pytest.mark.parametrize(("signed", "absolute", "failed"), [
    (0.01, 0.98, ("absolute",)), (0.9, 0.1, ("signed",)), (0.7, 0.8, ("signed", "absolute")),
    (0.1, 0.2, ())])
def test_sanity_reading_names_the_failed_variant_with_its_number(signed, absolute, failed):
    s = _sanity(signed, absolute)
    assert s.failed == failed and s.passed == (not failed)
    text = sanity_reading(s)
    assert f"signed maps {signed:.2f}" in text and f"absolute maps {absolute:.2f}" in text
    if failed:
        assert text.startswith(f"Sanity check FAILED ({' and '.join(failed)})")
    else:
        assert text.startswith("Sanity check passed") and "below 0.5" in text
