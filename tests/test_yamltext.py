"""The one YAML loader (``primitives.yamltext``): libyaml's parser, PyYAML's safe results."""

from __future__ import annotations

import pytest
import yaml

from casereport.primitives import paths, yamltext


def _project_yaml():
    roots = [paths.DATA_DIR, paths.PARAMS_DIR]
    files = [f for r in roots for f in sorted(r.rglob("*.yaml"))]
    return files + [paths.ROOT / "_quarto.yml", paths.ROOT / "_variables.yml"]


@pytest.mark.parametrize("path", _project_yaml(), ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_every_project_yaml_file_loads_as_pyyaml_safe_load_does(path):
    """Oracle: PyYAML's pure-Python ``yaml.safe_load`` of the same text (every YAML file
    of data/, params/, _quarto.yml and the committed _variables.yml): equal values and
    equal types (a ``2`` stays an int, ``"2"`` a str, a date a date)."""
    if not path.is_file():
        pytest.skip(f"{path.name} is written by a build")
    text = path.read_text(encoding="utf-8-sig")
    ours, oracle = yamltext.load(text), yaml.safe_load(text)
    assert ours == oracle
    assert repr(ours) == repr(oracle)  # same types all the way down


def test_a_syntax_error_is_a_yaml_error_with_its_line():
    """A tab-indented key (not YAML): the error is ``yamltext.YAMLError`` and its mark names
    line 3 (0-based 2), as PyYAML's pure-Python loader's does (checked here too)."""
    text = "claims:\n  - id: a\n\t- id: b\n"
    for load in (yamltext.load, yaml.safe_load):
        with pytest.raises(yamltext.YAMLError) as err:
            load(text)
        assert err.value.problem_mark.line == 2


def test_nothing_unsafe_is_constructed():
    """A Python object tag is refused (safe constructors), as by ``yaml.safe_load``."""
    with pytest.raises(yamltext.YAMLError):
        yamltext.load("!!python/object/apply:os.system ['true']")
