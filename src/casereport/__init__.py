"""casereport: reproducible comparative case reports from multi-site trial site data."""

__version__ = "0.1.0"
