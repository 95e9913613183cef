"""Filling a shape's section template (report/trial_sections.py) on small hand-made
inputs: the expected words are casereport.primitives.format's renderings of the numbers in the frame
written here, and the not-estimable sentence carries the reason written in that frame's
``not_estimable`` row (as analyses/estimability.py writes it)."""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
import pandas as pd

from casereport.primitives import format as fmt
from casereport.report import trial_sections as ts
from casereport.trialdata import trials


def _trial(tmp_path: Path, shape: str = "engagement_fidelity") -> trials.Trial:
    return trials.Trial(code="tiny", name="TINY", shape=shape, folder=tmp_path,
                        tables={"sites": "tiny_sites"}, citations=("key2024",))


def _results() -> pd.DataFrame:
    rows = [
        ("enrich_table2", "n_sites", 5, None, None, None, None),
        ("enrich_primary", "key", None, None, None, None, "odds_ratio_quasi_binomial"),
        ("enrich_primary", "estimate", 1.23456, 0.9, 1.7, 0.2345, None),
        ("enrich_association", "not_estimable", None, None, None, None,
         "needs at least 4 sites; this trial has 3"),
    ]
    return pd.DataFrame(rows, columns=["analysis", "quantity", "estimate", "ci_low", "ci_high",
                                       "p_value", "label"])


def test_placeholders_are_the_formatted_results(tmp_path):
    """Numbers are format.number / format.estimate / format.p_relation of the frame's values;
    the computed wording says the interval (0.9 to 1.7) includes an odds ratio of 1."""
    text = ts.fill("${name} has ${enrich_table2.n_sites} sites [${citations}]: "
                   "${enrich_primary.estimate:estimate} (${enrich_primary.estimate:ci}; "
                   "${enrich_primary.estimate:p}), ${null_wording}.", _results(), _trial(tmp_path))
    est, lo, hi = fmt.estimate(1.23456, 0.9, 1.7)
    assert text == (f"TINY has {fmt.number(5)} sites [@key2024]: {est} ({lo} to {hi}; "
                    f"{fmt.p_relation(0.2345)}), its interval includes no association "
                    "(an odds ratio of 1).\n")


def test_a_not_estimable_analysis_is_said_as_the_results_say(tmp_path):
    """A paragraph reading a not-estimable analysis becomes one sentence with its reason;
    the other paragraphs are filled."""
    text = ts.fill("Slope ${enrich_association.ols_slope}.\n\n${enrich_table2.n_sites} sites.",
                   _results(), _trial(tmp_path))
    assert text == ("Not estimable for TINY: needs at least 4 sites; this trial has 3.\n\n"
                    "5 sites.\n")


def test_a_shape_without_template_says_so(tmp_path):
    """No sections/templates/<shape>.md: one sentence naming the shape, no failure."""
    text = ts.section_md(_trial(tmp_path, "mentoring_time"), _results(), tmp_path,
                         templates_dir=tmp_path)
    assert "has no template" in text and "mentoring_time" in text


def test_embeds_take_the_cells_output_under_the_trials_label(tmp_path):
    """A table cell's Markdown under tbl-tiny-sites with the template's caption; a figure
    cell's PNG written under its new label with its alt text; a cell that shows a note
    gives the note and references to its label read 'the note below'."""
    png = base64.b64encode(b"\x89PNG fake").decode()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("#| label: tbl-a\nx", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/markdown": "| a |\n|--:|\n| 1 |"})]),
        nbformat.v4.new_code_cell("#| label: fig-b\nx", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": png})]),
        nbformat.v4.new_code_cell("#| label: tbl-c\nx", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/markdown": "Not estimable: too few."})]),
    ]
    text = ("See @tbl-tiny-c.\n\n"
            '::: {.embed cell="tbl-a" label="tbl-tiny-sites"}\nTINY sites.\n:::\n\n'
            '::: {.embed cell="fig-b" label="fig-tiny-scatter" alt="Dots."}\nTINY dots.\n:::\n\n'
            '::: {.embed cell="tbl-c" label="tbl-tiny-c"}\nTINY c.\n:::\n')
    out = ts.embed(text, nb, tmp_path / "img", "build/fragments/trial-sections")
    assert "| a |\n|--:|\n| 1 |\n\n: TINY sites. {#tbl-tiny-sites}" in out
    assert ('![TINY dots.](build/fragments/trial-sections/fig-tiny-scatter.png)'
            '{#fig-tiny-scatter fig-alt="Dots."}') in out
    assert (tmp_path / "img" / "fig-tiny-scatter.png").read_bytes() == b"\x89PNG fake"
    assert "See the note below." in out and "Not estimable: too few." in out
    assert "tbl-tiny-c" not in out and ":::" not in out
