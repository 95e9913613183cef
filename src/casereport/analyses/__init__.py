"""The analyses, one module per analysis, named for it; the notebooks call these.

- :mod:`~casereport.analyses.enrich`: ENRICH engagement and fidelity (preparation,
  association, leave-one-out, case selection); :mod:`~casereport.analyses.enrich_limits`:
  what that association can and cannot show (influence, models, missing data, employer);
  :mod:`~casereport.analyses.qca_enrich`: the ENRICH QCA calibration and its sensitivity
- :mod:`~casereport.analyses.retake`: RETAKE mentoring time (groups, rates, correlations,
  totals)
- :mod:`~casereport.analyses.cross_case`: QCA, programme theory and the synthesis
- :mod:`~casereport.analyses.profile`: one site against its trial

They import the primitives (labels, rounding, format, results, paths), ``data`` and
``stats``; never the build (``pipeline``), the report, the CLI or the audit.
"""
