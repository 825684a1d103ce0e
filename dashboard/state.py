"""Every session-state key the dashboard uses, in one place, with small typed helpers."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import streamlit as st

# ---------------------------------------------------------------- sidebar (all pages)
MODEL = "model_name"  # selectbox: the chosen model (built-in name or user model path)
USER_MODELS = "user_models"  # dict: display name -> path, filled by the Bring-your-own page
COMPRESSED_MODELS = "compressed_models"  # dict: display name -> adapter, kept on Compression
TARGET = "target_choice"  # selectbox: -1 = predicted class, else a class index
SEED = "seed"  # number_input: seed for stochastic methods
TOP_K = "top_k"  # slider: classes shown in the prediction chart

# ---------------------------------------------------------------- input widgets
IMAGE_SOURCE = "image_source"  # radio: Sample / Upload / Draw
IMAGE_SAMPLE = "image_sample"  # selectbox: index into the model's samples
IMAGE_UPLOAD = "image_upload"  # file_uploader
CANVAS = "digit_canvas"  # st_canvas
TEXT = "text_input"  # text_area
FUSION_TEXT = "fusion_text"  # text_area: the phrase of an image+text (fusion) model
TEXT_UPLOAD = "text_upload"  # file_uploader (.txt)
TEXT_APPLIED = "text_applied"  # file id of the .txt already copied into the text box
TABLE_SOURCE = "table_source"  # radio: Data set / CSV
TABLE_SAMPLE = "table_sample"  # selectbox: index into the model's samples
TABLE_EDITOR = "table_editor"  # prefix of the data_editor key (one per base row)
CSV_UPLOAD = "csv_upload"  # file_uploader (.csv)
CSV_ROW = "csv_row"  # number_input: which CSV row

# ---------------------------------------------------------------- Explain page
METHODS = "methods"  # multiselect
RUN = "run_explain"  # button
RERUN = "rerun_explain"  # bool: a notice's button asked the Explain page to run again
OPACITY = "opacity"  # slider prefix, one per result panel
SHOW_SPECIAL = "show_special"  # checkbox prefix: special tokens ([CLS], [SEP]) in a panel's bars
RESULTS = "results"  # dict: {"key": run key, "items": [(method, Attribution | str error)]}
WALL = "wall_times"  # dict method -> wall seconds of its last run (tiny = cache hit)
AUTO_RAN = "auto_ran"  # bool: the first explanation ran by itself once
CURRENT = "current_input"  # dict: {"model", "key", "label"}: the last input, shared by pages
LAST_UPLOAD = "last_upload"  # dict model -> (file name, bytes): survives page switches
REPORT = "report_files"  # dict: {"key": ..., "html"|"pdf"|"json": bytes} built on request
LAST_DRAWING = "last_drawing"  # dict model -> uint8 array drawn on the canvas
LAST_GOOD = "last_good_input"  # dict model -> UserInput: shown (with the error) after a bad one
TEXT_NOTICE = "text_notice"  # dict digest of a text box's text -> what was cut from its upload

# ---------------------------------------------------------------- Compare page
COMPARE_METHODS = "compare_methods"
COMPARE_RUN = "compare_run"
COMPARE_RESULTS = "compare_results"  # like RESULTS, for the Compare page
COMPARE_K = "compare_k"
BASELINES = "compare_baselines"
BASELINE_RUN = "baseline_run"
BASELINE_RESULTS = "baseline_results"  # like RESULTS: one IG run per baseline kind
COMPARE_WHAT = "compare_what"  # segmented control: compare methods or models
MODELS_WITH = "models_with"  # multiselect prefix, one per model: the models beside it
MODELS_METHOD = "models_method"  # selectbox: the method every model runs
MODELS_RUN = "models_run"  # button
MODELS_RESULTS = "models_results"  # {"key", "found": explainers.side_by_side.SideBySide}

# ---------------------------------------------------------------- Attention page
ATT_LAYER = "att_layer"
ATT_HEAD = "att_head"
ATT_TOKEN = "att_token"

# ---------------------------------------------------------------- Data set page
DS_SOURCE = "ds_source"  # radio: bundled split / upload
DS_UPLOAD = "ds_upload"  # file_uploader: .zip of an image folder, .csv, .txt
DS_METHODS = "ds_methods"  # multiselect prefix, one per model (params share "param::" keys)
DS_LIMIT, DS_ENGINE, DS_WORKERS = "ds_limit", "ds_engine", "ds_workers"  # job options
DS_FAITH = "ds_faithfulness"  # checkbox: also score faithfulness per input
DS_RUN, DS_CANCEL = "ds_run", "ds_cancel"  # buttons
DS_CANCELLED = "ds_cancelled"  # bool: Cancel was pressed during the running job
DS_PROGRESS = "ds_progress"  # (done, total) of the running job, for the "stopped" line
DS_JOB = "ds_job"  # dict: the last finished job (out folder, model, methods, timing, skipped)
DS_NORMALIZE = "ds_normalize"  # toggle: colour the confusion matrix by row share
DS_CM_CHART = "ds_cm_chart"  # plotly_chart (selection): the confusion matrix
DS_CELL = "ds_cell"  # selectbox: (true, predicted) cell whose inputs are listed
DS_CELL_SEEN = "ds_cell_seen"  # the last cell clicked on the chart (so the selectbox can differ)
DS_PICK = "ds_pick"  # selectbox: any row of the job, to open in Explain
DS_ROW = "ds_row"  # dict model -> {"row", "label", "true", "id"}: a table row opened in Explain
EXPLAIN_NOW = "explain_now"  # bool: the Explain page explains its input once on arrival

# ---------------------------------------------------------------- Explain page, fusion models
CROSS_MODAL = "cross_modal"  # set of result keys whose cross-modal view was asked for
CROSS_TOKEN = "cross_token"  # selectbox prefix: the token whose difference map is shown

# ---------------------------------------------------------------- Bring your own model page
BYOM_PREFLIGHTS = "byom_preflights"  # dict: path -> Preflight
BYOM_UPLOAD, BYOM_SIDECAR, BYOM_LOAD = "byom_upload", "byom_sidecar", "byom_load"
BYOM_FORM = "byom_form"  # prefix of the form widgets

# ---------------------------------------------------------------- Compression page
C_OP, C_KIND, C_SCOPE, C_AMOUNTS = "compress_op", "compress_kind", "compress_scope", "compress_amounts"
C_MODE, C_METHODS, C_N_EXPLAIN = "compress_mode", "compress_methods", "compress_n_explain"
C_N_ACC, C_RUN, C_RESULT = "compress_n_accuracy", "compress_run", "compress_result"
C_PICK, C_SAMPLE, C_MAPS = "compress_pick", "compress_sample", "compress_maps"
C_RUNS = "compress_runs"  # dict model key -> rows of every run this session (one table)
C_DISTILL = ("compress_width", "compress_temperature", "compress_alpha", "compress_epochs",
             "compress_seconds")

# widget keys whose values should survive a page switch (Streamlit drops state of
# widgets that are not rendered; re-assigning them at the top of each run keeps them)
PERSISTENT = (MODEL, TARGET, SEED, TOP_K, IMAGE_SOURCE, IMAGE_SAMPLE, TEXT, FUSION_TEXT,
              TABLE_SOURCE, TABLE_SAMPLE, CSV_ROW)
PERSISTENT_PREFIXES = ("param::", METHODS + "::", COMPARE_METHODS + "::")


def persist_widgets() -> None:
    """Keep the shared widget values when the user moves between pages."""
    for key in list(st.session_state):
        if key in PERSISTENT or str(key).startswith(PERSISTENT_PREFIXES):
            st.session_state[key] = st.session_state[key]


def get(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def put(key: str, value: Any) -> None:
    st.session_state[key] = value


def per_model(key: str, model: str) -> Any:
    """A value stored per model under a dict-valued key (None when absent)."""
    return st.session_state.get(key, {}).get(model)


def put_per_model(key: str, model: str, value: Any) -> None:
    store = dict(st.session_state.get(key, {}))
    store[model] = value
    st.session_state[key] = store


def widget_key(*parts: Any) -> str:
    """A stable widget key built from plain parts, e.g. ("param", "smoothgrad", "nt_samples")."""
    return "::".join(str(p) for p in parts)


def digest(data: bytes | str) -> str:
    """Short content hash used as the plain cache key of an input."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:16]


def params_json(params: dict[str, Any]) -> str:
    """Plain, order-independent cache key for a parameter dict."""
    return json.dumps(params, sort_keys=True, default=str)


# ---- Trust page
TRUST_METHODS = "trust_methods"  # multiselect prefix, one per model
TRUST_HEAVY = "trust_heavy"  # checkbox: also run stability, sanity check, max-sensitivity
TRUST_STEPS = "trust_steps"  # slider: steps of the deletion/insertion curves
TRUST_K = "trust_k"  # number_input: seeds for the stability score
TRUST_RUN = "trust_run"  # button
TRUST_RESULTS = "trust_results"  # dict: {"key", "model", "input", "report", "errors", "error"}
SANITY_SEEN = "sanity_seen"  # {(model key, method): (input key, input label, Sanity)}: notices

# ---- Explain page, generation models (causal language models: dashboard/generation_view.py)
GEN_PROMPT = "gen_prompt"  # text_area: the prompt
GEN_MAX_NEW = "gen_max_new_tokens"  # number_input: greedy continuation length
GEN_TARGET_MODE = "gen_target_mode"  # radio: the model's own continuation / one the user types
GEN_TARGET = "gen_target"  # text_input: the user's continuation to explain
GEN_CONTRAST_ON = "gen_contrast_on"  # checkbox: contrast with another continuation
GEN_CONTRAST = "gen_contrast"  # text_input: "why the target rather than this"
GEN_SPANS = "gen_spans"  # text_input: prompt token spans to attribute to, "0:3, 5:7" ("" = tokens)
GEN_METHODS = "gen_methods"  # multiselect prefix, one per model
GEN_RUN = "gen_run"  # button
GEN_RESULTS = "gen_results"  # {"key", "model", "prompt", "continuation", "contrast", "items"}
GEN_TOKEN = "gen_token"  # pills prefix, one per result set: the selected continuation token
GEN_LENS_K = "gen_lens_k"  # number_input: next tokens listed per cell of the logit lens
PERSISTENT = PERSISTENT + (GEN_PROMPT, GEN_MAX_NEW, GEN_TARGET_MODE, GEN_TARGET, GEN_CONTRAST_ON,
                           GEN_CONTRAST, GEN_SPANS)
PERSISTENT_PREFIXES = PERSISTENT_PREFIXES + (GEN_METHODS + "::",)

# ---- long runs (dashboard/jobs.py): one way to run them, with Cancel and a time limit
JOBS = "jobs_running"  # dict job name -> {"control", "what", "key"} of the run in progress
JOB_NOTICES = "job_notices"  # dict job name -> one line about its last cancelled/timed-out run
TIME_LIMIT = "time_limit_s"  # sidebar number_input: seconds per run (0 = no limit)
PERSISTENT = PERSISTENT + (TIME_LIMIT,)
