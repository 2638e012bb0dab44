"""What every bench script shares: the repository on sys.path, errors as one line, results written and shown."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lifqa.errors import LifqaError  # noqa: E402


def run(main: Callable[[], int]) -> None:
    """Exit with ``main()``'s code; missing data or a bad setting prints one line, not a traceback."""
    try:
        sys.exit(main())
    except LifqaError as exc:
        sys.exit(f"error: {exc}")


def save_result(path: Path, result: dict[str, Any]) -> None:
    """Write a bench's figures as JSON (bench/results/ is not committed) and print them."""
    text = json.dumps(result, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    print(text)
