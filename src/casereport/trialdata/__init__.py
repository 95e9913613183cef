"""The trial data layer: the registry of trial folders, their codebooks, validation, typed
loaders and published claims."""
