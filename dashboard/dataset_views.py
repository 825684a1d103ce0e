"""Data set page, results side: metrics, clickable confusion matrix, calibration, summaries."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import dataset_job, dataset_open, state
from explainers.plots import dataset as DP
from explainers.report.dataset_cards import map_rgb
from models import ModelAdapter

CELL_LIMIT = 24  # inputs of one cell shown as thumbnails / rows
TABLE_ROWS = 200  # rows of the predictions table that get a picture
CARDS = 12  # misclassified / least-faithful inputs shown with their maps
MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


def md(text: Any) -> str:
    """A user string (id, class name, text) shown literally inside Streamlit markdown."""
    return "".join("\\" + c if c in MD_SPECIAL else c for c in str(text))


def frame(out: str, class_names: list[str]) -> pd.DataFrame:
    """The job's rows with class names added (true, predicted) for tables."""
    df = dataset_job.rows(out).copy()
    df["id"] = df["id"].astype(str)
    names = np.asarray(class_names, dtype=object)
    lab = df["label"].astype(float)  # nullable ints -> NaN where unlabelled
    df["true"] = [names[int(v)] if np.isfinite(v) and 0 <= v < len(names) else None for v in lab]
    df["predicted"] = [names[int(v)] if 0 <= int(v) < len(names) else str(v) for v in df["pred"]]
    return df


def metrics_section(m: dict[str, Any]) -> None:
    per = pd.DataFrame(m.get("per_class") or {}).T
    c1, c2, c3 = st.columns(3)
    c1.metric("Accuracy", f"{float(m['accuracy']):.1%}")
    c2.metric("Labelled inputs", int(np.sum(m["confusion_matrix"])))
    ece = (m.get("calibration") or {}).get("ece")
    c3.metric("Expected calibration error", "n/a" if ece is None else f"{float(ece):.3f}")
    if not per.empty:
        left, right = st.columns([2, 3])
        left.dataframe(per, width="stretch", column_config={
            k: st.column_config.NumberColumn(format="%.3f") for k in DP.PER_CLASS_METRICS})
        right.plotly_chart(DP.per_class_bars(m["per_class"]), key="ds::per_class")


def _cell_label(names: list[str], cm: np.ndarray, cell: tuple[int, int]) -> str:
    t, p = cell
    return f"true {names[t]} → predicted {names[p]} ({int(cm[t, p])})"


def chosen_cell(m: dict[str, Any]) -> tuple[int, int] | None:
    """The confusion matrix (click a cell) and a selectbox of its non-empty cells, kept in sync."""
    names, cm = [str(c) for c in m["class_names"]], np.asarray(m["confusion_matrix"])
    n = len(names)
    fig = DP.confusion_matrix(cm, names, title=DP.CLICK_TITLE, normalize=st.toggle(
        "Colour by share of the true class", key=state.DS_NORMALIZE))
    event = st.plotly_chart(fig, key=state.DS_CM_CHART, on_select="rerun",
                            selection_mode="points")
    points = [p for p in (event.selection.points if event else []) if p.get("curve_number") == 1]
    clicked = DP.cell_of(points[0]["point_index"], n) if points else None
    cells = [(t, p) for t in range(n) for p in range(n) if cm[t, p] > 0]
    if clicked is not None and clicked != state.get(state.DS_CELL_SEEN):
        state.put(state.DS_CELL_SEEN, clicked)  # a new click wins over the selectbox
        state.put(state.DS_CELL, clicked if clicked in cells else None)
    if state.get(state.DS_CELL) not in [None, *cells]:
        state.put(state.DS_CELL, None)
    return st.selectbox("...or pick a cell", [None, *cells], key=state.DS_CELL,
                        format_func=lambda c: "(none)" if c is None else _cell_label(names, cm, c))


def open_button(model: ModelAdapter, job: dict[str, Any], row: pd.Series, where: Any,
                key: str) -> None:
    if where.button("Open in Explain", key=key, width="stretch"):
        dataset_open.open_in_explain(model, job, row.to_dict())


def thumbnails(model: ModelAdapter, job: dict[str, Any], df: pd.DataFrame, tag: str,
               maps: bool = False) -> None:
    """Up to CELL_LIMIT rows as cards: the picture (images) or text, confidence, an Open button."""
    cols = st.columns(6)
    methods = [c for c in df.columns if str(c).startswith("attr:")] if maps else []
    for i, (_, row) in enumerate(df.head(CELL_LIMIT).iterrows()):
        col = cols[i % len(cols)]
        raw = dataset_open.raw_of(model, job, row["id"])
        picture = dataset_open.thumbnail(model, raw, f"{job['out']}:{row['id']}")
        if picture is not None:
            col.image(picture, width="stretch")
        else:
            col.caption(md(str(raw)[:120]) if isinstance(raw, str) else f"row {md(row['id'])}")
        for m in methods:
            v = np.asarray(row[m].get("image") if isinstance(row[m], dict) else row[m], float)
            if v.ndim == 2:  # nearest-neighbour upscaled, so a 28x28 map is not a speck
                k = max(1, 112 // max(v.shape))
                big = np.kron(map_rgb(v), np.ones((k, k, 1), np.uint8))
                framed = np.pad(big, ((2, 2), (2, 2), (0, 0)), constant_values=200)
                col.image(framed, caption=m[5:], width="stretch")
        col.caption(f"{md(row['id'])}  \n{md(row['true'])} → {md(row['predicted'])} "
                    f"({row['confidence']:.0%})")
        open_button(model, job, row, col, state.widget_key("ds_open", tag, row["id"]))


def cell_section(model: ModelAdapter, job: dict[str, Any], m: dict[str, Any],
                 df: pd.DataFrame) -> None:
    cell = chosen_cell(m)
    if cell is None:
        st.caption("Click a cell of the matrix to list its inputs.")
        return
    names = [str(c) for c in m["class_names"]]
    lab = df["label"].astype(float)
    sub = df[(lab == cell[0]) & (df["pred"].astype(int) == cell[1])]
    st.markdown(f"**{len(sub)}** input(s): true **{md(names[cell[0]])}**, predicted "
                f"**{md(names[cell[1]])}**" + (f" (first {CELL_LIMIT} shown)"
                                            if len(sub) > CELL_LIMIT else ""))
    thumbnails(model, job, sub.sort_values("confidence", ascending=False), "cell")


def calibration_section(m: dict[str, Any]) -> None:
    cal = m.get("calibration") or {}
    if not any(b.get("count") for b in cal.get("bins", [])):
        st.caption("No calibration (no labelled inputs).")
        return
    st.plotly_chart(DP.reliability_diagram(cal), key="ds::calibration")


def summaries_section(out: str) -> None:
    views = dataset_job.views(out)
    if not any(views.values()):
        st.caption("No attribution summaries for this job.")
        return
    tabs = st.tabs(list(views))
    for tab, (name, s) in zip(tabs, views.items(), strict=True):
        with tab:
            if s.get("class_mean"):
                st.plotly_chart(DP.class_mean_maps(s["class_mean"],
                                                   f"{name}: mean map per predicted class"),
                                key=state.widget_key("ds", "mean", name))
            if s.get("global"):
                st.plotly_chart(DP.units_bar(s["global"], f"{name}: mean |attribution|"),
                                key=state.widget_key("ds", "global", name))
            if s.get("top_units"):
                st.plotly_chart(DP.top_units_per_class(s["top_units"]),
                                key=state.widget_key("ds", "top", name))


def lists_section(model: ModelAdapter, job: dict[str, Any], df: pd.DataFrame) -> None:
    """Misclassified inputs with their maps, and the least faithful explanations if computed."""
    lab = df["label"].astype(float)
    wrong = df[lab.notna() & (lab != df["pred"].astype(float))]
    st.subheader(f"Misclassified ({len(wrong)})")
    if wrong.empty:
        st.caption("None: every labelled input was classified correctly.")
    else:
        thumbnails(model, job, wrong.sort_values("confidence", ascending=False).head(CARDS),
                   "wrong", maps=True)
    for method, view in dataset_job.views(job["out"]).items():
        least = view.get("least_faithful") or []
        if not least:
            continue
        st.subheader(f"Least faithful explanations: {method}")
        scores = dict(least)
        sub = df[df["id"].isin(scores)].copy()
        sub["faithfulness"] = sub["id"].map(scores)
        thumbnails(model, job, sub.sort_values("faithfulness").head(CARDS),
                   state.widget_key("faith", method), maps=True)


def predictions_section(model: ModelAdapter, job: dict[str, Any], df: pd.DataFrame) -> None:
    """Every row's prediction, and any row opened in Explain by its id."""
    shown, config = df[["id", "true", "predicted", "confidence"]].copy(), {}
    if model.info.modality in ("image", "fusion"):  # a picture per row (the first TABLE_ROWS)
        shown.insert(0, "picture", [dataset_open.thumbnail_url(model, job, r)
                                    if i < TABLE_ROWS else None
                                    for i, r in enumerate(shown["id"])])
        config["picture"] = st.column_config.ImageColumn("picture", width="small")
    st.dataframe(shown, hide_index=True, height=260, column_config=config)
    by_id = {r["id"]: r for _, r in df.iterrows()}
    if not by_id:
        return
    if state.get(state.DS_PICK) not in by_id:  # a row of an earlier job
        state.put(state.DS_PICK, next(iter(by_id)))
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Open an input in Explain", list(by_id), key=state.DS_PICK,
                        format_func=lambda i: f"{i} · predicted {by_id[i]['predicted']} "
                                              f"({by_id[i]['confidence']:.0%})")
    if pick is not None:
        open_button(model, job, by_id[pick], c2, "ds_open_pick")
