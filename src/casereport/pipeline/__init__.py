"""The build wing: run plan, content-hash cache, executors and the build itself.

Nothing in ``stats/``, ``analyses/``, the notebooks or the primitives imports this package.
"""

from casereport.pipeline.build import BuildError, Options, build, prerender

__all__ = ["BuildError", "Options", "build", "prerender"]
