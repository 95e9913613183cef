"""YAML text in and out, for every module: one loader, one dumper, one error type.

Loading uses libyaml's C parser when PyYAML was built with it (the wheels are): the
same safe constructors and resolver as ``yaml.safe_load``, about ten times faster, which
the build feels (it reads every trial's published claims twice and each parameter set
once). Dumping stays PyYAML's pure-Python safe dumper, whose output the committed
``_variables.yml`` and notebook-view front matter were written with.
"""

from __future__ import annotations

from typing import Any

import yaml

YAMLError = yaml.YAMLError
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """The document in ``text`` (as ``yaml.safe_load``); raises :data:`YAMLError`."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


def dump(data: Any, **options: Any) -> str:
    """``data`` as YAML text (``yaml.safe_dump`` with ``options``)."""
    return yaml.safe_dump(data, **options)
