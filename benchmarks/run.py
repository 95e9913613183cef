#!/usr/bin/env python
"""casereport benchmarks: one command, figures printed and written to benchmarks/results.*
(the code is the package ``benchmarks/bench``, one module per section; see its docstring and
benchmarks/README.md).

    .venv/bin/python benchmarks/run.py [--repeats N] [--quick] [--sections a,b,...]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.main import _internal, main  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        sys.exit(_internal(sys.argv[1:]))
    sys.exit(main(sys.argv[1:]))
