"""Pure plot functions: Attribution (or arrays) -> plotly Figure, or escaped HTML for tokens."""
from explainers.plots._common import color_kwargs, esc
from explainers.plots.attention import attention_from_token, attention_grid, attention_matrix
from explainers.plots.compare import agreement_matrix, modality_share, probabilities_bar
from explainers.plots.generation import generation_heatmap, logit_lens_heatmap, row_highlight
from explainers.plots.image import as_rgb, heatmap_overlay, raw_map
from explainers.plots.tabular import bar, beeswarm, waterfall
from explainers.plots.tokens import token_highlight, top_units_bar

__all__ = [
    "agreement_matrix", "as_rgb", "attention_from_token", "attention_grid", "attention_matrix",
    "bar", "beeswarm", "color_kwargs", "esc", "generation_heatmap", "heatmap_overlay",
    "logit_lens_heatmap", "modality_share", "probabilities_bar", "raw_map", "row_highlight",
    "token_highlight", "top_units_bar", "waterfall",
]
