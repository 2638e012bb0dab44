"""An index's stored calibration: the ``Calibration`` record and ``calibration.json`` beside ``CURRENT``.

The engine reads it at open; ``lifqa calibrate`` (lifqa.calibrate) fits and writes it. The file lives
in the index folder, not in a build, so it survives rebuilds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lifqa.rerank import CALIBRATED_SUPPORT_FEATURES, SUPPORT_FEATURES

CALIBRATION = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    threshold: float
    answerable: int
    unanswerable: int
    negatives: str  # "gold file" | "off-topic questions"
    wrong_abstention: float  # on the calibration questions, at the threshold
    abstention_accuracy: float
    max_wrong_abstention: float
    gold: str
    gold_fingerprint: str
    corpus_fingerprint: str
    created: str
    support: dict[str, Any] | None = None  # the refitted abstention model (None: only the threshold was fitted)

    def summary(self) -> str:
        return (f"abstention threshold {self.threshold:.4f} from {self.answerable} answerable and {self.unanswerable} unanswerable "
                f"questions ({self.negatives}); on them: {self.wrong_abstention:.1%} of answerable abstain, "
                f"{self.abstention_accuracy:.1%} of unanswerable abstain")


def write_calibration(index: str | Path, calibration: Calibration) -> Path:
    path = Path(index) / CALIBRATION
    tmp = path.with_name(f".{CALIBRATION}.tmp")
    tmp.write_text(json.dumps(asdict(calibration), indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_calibration(index: str | Path) -> dict[str, Any] | None:
    """The stored calibration of an index folder, or None; a damaged file is ignored (the default threshold applies)."""
    path = Path(index) / CALIBRATION
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        threshold = float(data["threshold"])
        support = data.get("support")
        if support is not None:
            # a calibration from before the answer evidence (four features) still applies as it was fitted
            names = tuple(support["features"])
            if names not in (SUPPORT_FEATURES, CALIBRATED_SUPPORT_FEATURES) or not all(len(support[k]) == len(names) for k in ("mean", "scale", "coef")):
                return None
            float(support["intercept"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not 0.0 <= threshold <= 1.0:
        return None
    return {**data, "threshold": threshold}
