"""What every bench script shares: the repository on sys.path, and errors as one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lifqa.errors import LifqaError  # noqa: E402


def run(main: Callable[[], int]) -> None:
    """Exit with ``main()``'s code; missing data or a bad setting prints one line, not a traceback."""
    try:
        sys.exit(main())
    except LifqaError as exc:
        sys.exit(f"error: {exc}")
