"""The analyses: one room (subpackage) per analysis shape, each with its analysis, claims,
tables and figures, and the rules every room shares; the notebooks call these.

- ``engagement_fidelity/``: people engaged of those with data against a site score
  (ENRICH's shape): preparation, association, leave-one-out, case selection (``analysis``),
  what the association can and cannot show (``limits``), the estimands (``estimands``)
- ``mentoring_time/``: support time per site over months against a planned amount
  (RETAKE's shape): groups, rates, correlations, totals
- ``cross_case/``: QCA (``qca_engagement``: the calibration of an engagement-fidelity trial
  and its sensitivity), programme theory and the synthesis
- ``case_profile/``: one site against its trial
- shared: ``claim_rules`` (the ``Claim`` type), ``claims_registry`` (every room's claims),
  ``estimability`` (what an analysis needs of the sites), ``inputs`` (parameter lists)

Analysis modules import the primitives, ``trialdata`` and ``stats``, never display (the
rooms' ``tables`` and ``figures``), the build (``pipeline``), the report, the CLI or the
audit.
"""
