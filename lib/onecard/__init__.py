"""一卡通专项治理核查工作台 — One Card review workbench.

A small public surface over focused modules:

- ``intake_path`` / ``load_intake``: read any office's Excel/CSV into canonical tables
- ``load_policy``: the subsidy policy as validated data
- ``analyse``: reconciliation, the rule catalogue and the network, district-wide
- ``run``: the batch (intake, analysis, township notebooks, reports)
- ``load_run``: views of a finished run for notebooks and the explorer
- ``catalogue_frame``: the rule catalogue
- ``WorkbenchError``: every user-facing error
"""

from .core.errors import WorkbenchError

__version__ = "0.1.0"

__all__ = ["WorkbenchError", "intake_path", "load_intake", "load_policy", "analyse", "run",
           "load_run", "catalogue_frame", "__version__"]


def __getattr__(name):  # lazy: importing onecard stays cheap for the CLI and kernels
    if name in ("intake_path", "load_intake"):
        from . import intake
        return getattr(intake, name)
    if name == "load_policy":
        from .policy import load_policy
        return load_policy
    if name == "analyse":
        from .analysis import analyse
        return analyse
    if name == "run":
        from .batch.runner import run
        return run
    if name == "load_run":
        from .views.review import load_run
        return load_run
    if name == "catalogue_frame":
        from .rules.catalogue import catalogue_frame
        return catalogue_frame
    raise AttributeError(name)
