"""Runs that show something at once: the cheapest methods first, each result drawn as it arrives,
adaptive IG's coarse passes drawn while it refines (with their delta), inside one dashboard.jobs
run (Cancel, time limit), results kept as they come so a cancelled run keeps what it finished."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard import jobs, runner
from dashboard.figures import first_plot
from dashboard.inputs import UserInput
from dashboard.panels import summary_line
from explainers import Attribution, get_method
from models import ModelAdapter


def order(selected: list[str]) -> list[str]:
    """The run order: methods that declare `one_pass` first (a first map in a fraction of a
    second), the others after, each group as selected."""
    first = [m for m in selected if get_method(m).one_pass]
    return first + [m for m in selected if m not in first]


def not_run(name: str) -> str:
    return f"{runner.method_label(name)}: not computed (the run stopped before it)"


def stage_caption(a: Attribution) -> str:
    """Where an adaptive pass stands: its steps and relative delta, and that it goes on."""
    passes = a.extras.get("adaptive", {}).get("passes", [])
    if not passes:
        return "refining..."
    last = passes[-1]
    return (f"refining: {last['n_steps']} steps, |delta| {last['relative_delta']:.1%} of the "
            f"output change (tolerance {a.params.get('tolerance', 0):.0%}); more steps next")


class Preview:
    """A placeholder redrawn with every result so far (no widgets: plain figures, fresh keys)."""

    def __init__(self, model: ModelAdapter, inp: UserInput, job: jobs.Job):
        self.model, self.inp, self.job = model, inp, job
        self.slot = st.empty()
        self.draws = 0

    def draw(self, shown: list[tuple[str, Attribution | str, bool]]) -> None:
        self.draws += 1
        self.job._ctx.run(self._draw, shown)  # may be called inside a cached function

    def _draw(self, shown: list[tuple[str, Attribution | str, bool]]) -> None:
        with self.slot.container():
            cols = st.columns(2)
            for i, (name, a, refining) in enumerate(shown):
                with cols[i % 2].container(border=True):
                    st.markdown(f"#### {runner.method_label(name)}")
                    if isinstance(a, str):
                        st.error(a)
                        continue
                    st.caption(stage_caption(a) if refining else summary_line(a))
                    first_plot(self.model, self.inp, a, f"preview::{self.draws}::{name}")

    def clear(self) -> None:
        self.slot.empty()


def run_methods(model: ModelAdapter, inp: UserInput, target: int | None, selected: list[str],
                params: dict[str, dict[str, Any]], seed: int, job_name: str = "explain",
                keep: Callable[[list[tuple[str, Any]]], Any] | None = None, run_key: str = ""
                ) -> list[tuple[str, Any]]:
    """Each selected method under one jobs.running run; results in selection order (methods
    a cancelled run did not reach hold a one-line string)."""
    done: dict[str, Any] = {}
    n = len(selected)

    def items() -> list[tuple[str, Any]]:
        return [(m, done.get(m, not_run(m))) for m in selected]

    what = f"explaining with {', '.join(runner.method_label(m) for m in selected)}"
    with jobs.running(job_name, "Starting...", what[0].upper() + what[1:], run_key) as job:
        preview = Preview(model, inp, job)
        for i, name in enumerate(order(selected)):
            text = f"{runner.method_label(name)} ({i + 1}/{n})"
            job.show(i / n, text)
            shown = [(m, done[m], False) for m in order(selected) if m in done]
            a, wall = runner.run_one(
                model, inp, target, name, runner.call_params(name, params.get(name, {}), seed),
                job.progress(i / n, 1 / n, text), job.control,
                lambda stage, shown=shown, name=name: preview.draw([*shown, (name, stage, True)]))
            done[name] = a
            runner.state.put_per_model(runner.state.WALL, name, wall)
            if keep is not None:
                keep(items())
            preview.draw([(m, done[m], False) for m in order(selected) if m in done])
        job.show(1.0, f"Done: {n} method(s)")
        preview.clear()
    return items()
