"""The engagement-fidelity shape (people engaged of those with data against a site score):
its analysis, limits, estimands, claims, tables and figures."""
