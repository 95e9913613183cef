"""A case profile: one site against the other sites of its trial, with its figure."""
