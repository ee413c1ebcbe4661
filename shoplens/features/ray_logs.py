"""What Ray may print in a shoplens process. Ray's own defaults put usage-stats and token
banners, Ray Data's execution lines and C++ core-worker notes on stderr, between shoplens's
progress lines; a shop running `index --executor ray` or `serve --ray` needs none of them unless
it asked for detail. So Ray follows the `shoplens` logger: at debug (`-v`) Ray's warnings and the
workers' logs are shown, otherwise only its errors (tracebacks stay in the Ray session's log
files). Left as it is: the C++ core worker's error-level lines, which no Python setting reaches
(RAY_BACKEND_LOG_LEVEL would hide them but prints an INFO line of its own)."""

from __future__ import annotations

import logging
import os
from typing import Any


def verbose() -> bool:
    return logging.getLogger("shoplens").isEnabledFor(logging.DEBUG)


def ray_init_kwargs() -> dict[str, Any]:
    """Keyword arguments for `ray.init`, and the environment Ray's processes start with."""
    loud = verbose()
    # Usage stats: nothing to report to from a shop's machines, and no banner about it.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    level = logging.WARNING if loud else logging.ERROR
    logging.getLogger("ray").setLevel(level)  # warnings logged during ray.init, before it applies logging_level
    return {"logging_level": level, "log_to_driver": loud}


def quiet_ray_data() -> None:
    """Ray Data's console lines (plan, "execution finished", "progress bars disabled") follow the
    same level; shoplens draws its own progress bar, so Ray's are off."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING if verbose() else logging.ERROR)
