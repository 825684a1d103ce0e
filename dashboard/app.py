"""Glassbox dashboard entry script: page config, shared widget state, navigation (no heavy work)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import jobs, state  # noqa: E402

# The one list of pages: (section, file under dashboard/, title, icon). A new page is its file
# in app_pages/ plus one line here; every file listed must exist (st.Page refuses a missing one).
PAGES = [
    ("Explain", "app_pages/explain.py", "Explain", ":material/visibility:"),
    ("Explain", "app_pages/compare.py", "Compare", ":material/compare:"),
    ("Explain", "app_pages/attention.py", "Attention", ":material/hub:"),
    ("Explain", "app_pages/dataset.py", "Data set", ":material/dataset:"),
    ("Trust", "app_pages/trust.py", "Trust", ":material/verified:"),
    ("Trust", "app_pages/compression.py", "Compression", ":material/compress:"),
    ("Models", "app_pages/byom.py", "Bring your own model", ":material/upload_file:"),
]


def navigation() -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for section, path, title, icon in PAGES:
        sections.setdefault(section, []).append(
            st.Page(path, title=title, icon=icon, default=path == PAGES[0][1]))
    return sections


st.set_page_config(page_title="Glassbox", page_icon=":material/visibility:", layout="wide")
state.persist_widgets()
page = st.navigation(navigation())
st.sidebar.caption("Glassbox · explain PyTorch models with Captum + SHAP")
page.run()
jobs.limit_widget()  # after the page: its sidebar widgets (model, target, seed) come first
