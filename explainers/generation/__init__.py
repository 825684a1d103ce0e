"""Language models: explain a continuation's log-probability by the prompt's tokens (Captum)."""
from explainers.generation.attention import (
    attention_and_grads,
    attention_result,
    attention_weights,
    is_causal,
)
from explainers.generation.gradients import gradient, integrated_gradients
from explainers.generation.lens import LogitLens, logit_lens
from explainers.generation.params import GENERATION, params_for, parse_spans, resolve
from explainers.generation.perturb import perturb
from explainers.generation.setup import Setup, check_generation_target, of, prepare

__all__ = [
    "GENERATION", "LogitLens", "Setup", "attention_and_grads", "attention_result",
    "attention_weights", "check_generation_target", "gradient", "integrated_gradients",
    "is_causal", "logit_lens", "of", "params_for", "parse_spans", "perturb", "prepare", "resolve",
]
