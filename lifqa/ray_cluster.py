"""Joining a Ray cluster, or starting a local one: shared by Ray builds (lifqa.index.ray_build) and
Ray batches (lifqa.ray_batch), so answering on Ray never imports the build.

Ray is optional (``pip install 'lifqa[ray]'``).
"""

from __future__ import annotations

import logging
from typing import Any

from lifqa.errors import InputError

INSTALL_HINT = "--ray needs Ray, which is not installed. Install it with: pip install 'lifqa[ray]' (or pip install 'ray[data]')"


def require_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Join the cluster at ``address``, or start a local one (``None``); reuse a connection already made."""
    ray = require_ray()
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            else:
                ray.init(num_cpus=num_cpus, log_to_driver=False, logging_level=logging.WARNING, include_dashboard=False)
        except ConnectionError as exc:
            raise InputError(f"cannot reach a Ray cluster at '{address}' ({exc}). Start one with `ray start --head` "
                             "on the head machine, or omit the address to start a local cluster") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no "Starting execution of Dataset" lines per stage
    return ray
