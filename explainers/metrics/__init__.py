"""Trust scores for any attribution on any modality: faithfulness, sensitivity, stability, sanity, agreement."""
from explainers.metrics.agreement import Agreement, agreement
from explainers.metrics.captum_metrics import Infidelity, Sensitivity, infidelity, max_sensitivity
from explainers.metrics.faithfulness import FaithfulnessCurves, deletion_insertion
from explainers.metrics.figures import faithfulness_figure, sanity_figure
from explainers.metrics.reading import MethodTrust, rank_methods, trust_summary
from explainers.metrics.report import TrustReport, trust_report
from explainers.metrics.sanity import Sanity, sanity_check
from explainers.metrics.stability import Stability, stability
from explainers.metrics.units import Units, make_units

__all__ = [
    "Agreement", "FaithfulnessCurves", "Infidelity", "MethodTrust", "Sanity", "Sensitivity",
    "Stability", "TrustReport", "Units", "agreement", "deletion_insertion", "faithfulness_figure",
    "infidelity", "make_units", "max_sensitivity", "rank_methods", "sanity_check", "sanity_figure",
    "stability",
    "trust_report", "trust_summary",
]
