"""Write docs/bad-input.md from what the bad-input tests observed on each surface.

Usage: python scripts/bad_input_table.py [--no-run]
Runs the corpus tests (API, CLI, dashboard AppTest, misbehaving models), which append one JSON
line per case and surface to test-artifacts/bad-input-observed.jsonl, then turns those lines into
the table "what happens with bad input". --no-run reuses the lines already there.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OBSERVED = ROOT / "test-artifacts" / "bad-input-observed.jsonl"
DOC = ROOT / "docs" / "bad-input.md"
TESTS = ["tests/explainers/test_bad_input_corpus.py", "tests/explainers/test_misbehaving_models.py",
         "tests/dashboard/test_bad_input_page.py", "tests/dashboard/test_misbehaving_models_page.py",
         "tests/dashboard/test_bad_model_files_page.py"]
SURFACES = ("Python API", "CLI", "dashboard")
HEAD = """# What happens with bad input

Every row below was observed by the tests (`python scripts/bad_input_table.py` runs them and
rewrites this page): the corpus is generated in `tests/bad_inputs.py` (images for `mnist-cnn`,
texts for `sentiment-bag`, tables for `breast-cancer-mlp`), the misbehaving models in
`tests/models/misbehaving.py`. The rule on every surface: the input runs (perhaps with a notice
saying what was done to it), or one line says why not. The CLI exits 0, or 2 with one `error:`
line; notices are `notice:` lines on stderr. The Python API raises a one-line `InputError` /
`ModelLoadError` / `ModelRuntimeError`, and says notices as `models.errors.InputNotice` warnings.
The dashboard shows the line where the input was given; after a bad upload the last good input,
its prediction, its results, the target and the seed stay on the page.

Shared rules (one function each, called by every surface):
`models.images.decode_image` (size checked from the header before decoding, 40 MP limit; 16-bit
scaled, not clipped; first frame of an animation; EXIF upright; CMYK and transparency converted
with a notice), `models.text_fit.fit_text` (a long text is cut to what the model reads, with a
notice; `decode_text` names the first non-UTF-8 byte), `models.tables` (missing columns named in
plain text with a did-you-mean, a bad cell named by column and row, extra columns ignored with a
notice), `models.user.guard` (a user model's forward that raises, returns NaN/inf or the wrong
number of classes).
"""


FOOT = """
Parameters (out of range, unknown method, a target outside the classes, a continuation as the
target of a classifier) have no dashboard row: its widgets only offer valid values (bounded
sliders, the class list); the CLI and the API refuse them in one line (rows `param: ...`).
Model files (garbage bytes, a pickle, a truncated safetensors, the wrong architecture) are
refused by the loader in one line (rows `model file: ...`; the dashboard row is the Bring your
own model page).

Not covered yet: a language model's prompt keeps its own character limit (the prompt's end is
what matters, so cutting the tail would be wrong); the built-in models are not guarded by
`models.user.guard` (their outputs are tested), only users' models (TorchScript, torch.export,
state dicts and Hugging Face folders).
"""


def _clean(line: str) -> str:
    line = re.sub(r"'/tmp/[^']*/([^/']+)'", r"'\1'", line)  # test folders -> file names
    line = " ".join(line.split()).replace("|", "\\|")
    return line if len(line) <= 160 else line[:157] + "..."


def rows() -> dict[str, dict[str, tuple[str, str]]]:
    table: dict[str, dict[str, tuple[str, str]]] = {}
    for raw in OBSERVED.read_text(encoding="utf-8").splitlines():
        d = json.loads(raw)
        table.setdefault(d["case"], {})[d["surface"]] = (d["outcome"], _clean(d["line"]))
    return table


def render(table: dict[str, dict[str, tuple[str, str]]]) -> str:
    out = [HEAD, "| input | surface | what the user sees |", "|---|---|---|"]
    for case, seen in table.items():
        for surface in SURFACES:
            if surface in seen:
                outcome, line = seen[surface]
                out.append(f"| {case} | {surface} | {outcome}" + (f": `{line}`" if line else "")
                           + " |")
    return "\n".join(out) + "\n" + FOOT


def main(argv: list[str]) -> int:
    if "--no-run" not in argv:
        OBSERVED.unlink(missing_ok=True)
        code = subprocess.call([sys.executable, "-m", "pytest", *TESTS, "-q", "-p",
                                "no:cacheprovider"], cwd=ROOT)
        if code:
            print("error: the bad-input tests failed; docs/bad-input.md not rewritten",
                  file=sys.stderr)
            return code
    DOC.write_text(render(rows()), encoding="utf-8")
    print(f"wrote {DOC} ({sum(len(v) for v in rows().values())} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
