"""The report layer: Markdown fragments, ``_variables.yml``, the Quarto call, the no-Quarto
preview and the static checks that tie ``index.qmd`` to the executed notebooks.

Modules:

- :mod:`~casereport.report.fragments` — ``build/fragments/*.md`` pulled in by ``index.qmd``
- :mod:`~casereport.report.variables` — ``_variables.yml`` (numbers quoted with ``{{< var >}}``)
- :mod:`~casereport.report.quarto` — find and run Quarto
- :mod:`~casereport.report.preview` — one self-contained HTML preview rendered with pandoc
- :mod:`~casereport.report.checks` — embeds, cross-references and citations resolve
- :mod:`~casereport.report.shortcodes`, :mod:`~casereport.report.cells` — shared parsing
"""
