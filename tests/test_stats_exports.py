"""casereport.stats gives every method by name and loads each module on first use.

Each test runs in a fresh interpreter, so what is imported is this package's doing alone.
Oracle: the modules' own definitions (every exported name is the object its module
defines) and the list of modules a process has loaded (``sys.modules``)."""

from __future__ import annotations

import json
import subprocess
import sys

from casereport import stats


def _fresh(code: str) -> object:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return json.loads(out.stdout)


def test_every_name_is_its_modules_object():
    """``stats.<name>`` for every name of ``__all__`` is the object its module (named in
    ``EXPORTS``) defines, and no name is given by two modules."""
    import importlib

    names = [n for ns in stats.EXPORTS.values() for n in ns]
    assert len(names) == len(set(names)) == len(stats.__all__)
    for module, ns in stats.EXPORTS.items():
        mod = importlib.import_module(f"casereport.stats.{module}")
        for name in ns:
            assert getattr(stats, name) is getattr(mod, name), name
    assert set(stats.__all__) <= set(dir(stats))


def test_importing_the_package_loads_no_method_module():
    """``import casereport.stats`` loads none of its modules; asking for one name loads its
    module alone (and the helpers that module imports), whether by attribute or by
    ``from casereport.stats import``."""
    code = ("import json, sys; import casereport.stats as s; a = sorted(m for m in sys.modules"
            " if m.startswith('casereport.stats.')); s.clopper_pearson; "
            "from casereport.stats import site_proportions; b = sorted(m for m in sys.modules"
            " if m.startswith('casereport.stats.')); print(json.dumps([a, b]))")
    before, after = _fresh(code)
    assert before == []
    assert "casereport.stats.intervals" in after
    assert not {"casereport.stats.overdispersion", "casereport.stats.glm",
                "casereport.stats.robust"} & set(after)  # fmt: skip


def test_an_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no_such_method"):
        stats.no_such_method  # noqa: B018
