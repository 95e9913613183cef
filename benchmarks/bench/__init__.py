"""casereport benchmarks: one command, figures printed and written to benchmarks/results.*.

    .venv/bin/python benchmarks/run.py [--repeats N] [--clean-repeats N] [--quick]
                                       [--sections overhead,clean,noop,change,scale]

Everything runs on a private copy of the project in ``benchmarks/work/project`` (the package
is pointed at it with ``CASEREPORT_ROOT``), so the developer's ``build/`` and
``.casereport-cache/`` are never touched. Sections:

``overhead``  per-run fixed costs: Python start, ``import papermill``, a kernel start with an
              empty notebook, the same with the imports every notebook does.
``clean``     clean build (``casereport build --no-render``, cache and build/ deleted) against
              the same runs one after another with the ``papermill`` command line, with
              ``jupyter nbconvert --execute`` (parameters injected beforehand with
              ``papermill --prepare-only``, not timed) and the floor: one Python process that
              executes every run's code cells in-process (no kernels). Rounds interleave the
              four methods. The render step is timed separately.
``noop``      rebuild with nothing changed, against the clean build (with and without render).
``change``    rebuild after editing one cell of one data file: which runs re-executed (against
              the runs whose inputs include that file) and the time.
``scale``     synthetic trials (``casereport.trialdata.synthetic``, fixed seed) of 7, 100, 1,000 and
              10,000 sites: wall time and peak memory of the engagement-fidelity notebook and
              case-profile runs, in a kernel (papermill) and in-process; cProfile at the
              largest size when the 3x target is missed.

Medians over repeats. Results: ``benchmarks/results.json`` (raw numbers; sections not re-run
are kept from the previous file) and ``benchmarks/results.md`` (tables, ratios, targets).
Never used as a test: nothing here asserts a time.

The code: one module per section (``overhead``, ``clean``, ``rebuild`` for ``noop`` and
``change``, ``fork``, ``scale``, ``odds``, ``builds``), ``common`` (paths, helpers),
``floor`` (the in-process floor and worker processes), ``report`` (results.md) and
``main`` (the command line, run as ``benchmarks/run.py``).
"""
