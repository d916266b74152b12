"""Score files: one JSON per evaluated system, the unit the report is built from.

Schema (``exp/scores/<table>_<system>.json``)::

    {"table": 1|2|3|4, "system": "speech", "metric": "cer"|"sdri",
     "per_overlap": {"0.0": {"speech": 48.1, "singing": 245.7}, ...},
     "unmixed": {"speech": 6.3, "singing": 88.2},      # Table 1 only, optional
     "counts": {"0.0": {"speech": {"err": 10, "ref": 200}, ...}},
     "command": "the command line that produced it",
     "per_voice": {"speech": {"S0764": 7.9, ...}, "singing": {...}}}  # optional: per speaker /
                                                       # singer over all the mixtures

CER values are percentages (they count insertions, so they can exceed 100); SDRi in dB.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jrsv.atomic import atomic_write_text
OVERLAPS = ("0.0", "0.1", "0.3", "0.5", "1.0")


@dataclass
class ScoreFile:
    table: int
    system: str
    metric: str
    per_overlap: dict[str, dict[str, float]]
    unmixed: dict[str, float] | None = None
    counts: dict = field(default_factory=dict)
    command: str = ""
    per_voice: dict[str, dict[str, float]] | None = None  # {track: {speaker/singer: score}}

    def worst_voice(self, track: str) -> tuple[str, float] | None:
        """(voice, score) of the worst speaker / singer on ``track``: the highest CER or the
        lowest SDRi; None without a per-voice breakdown."""
        per = (self.per_voice or {}).get(track)
        if not per:
            return None
        pick = min if self.metric == "sdri" else max
        voice = pick(per, key=per.get)
        return voice, per[voice]

    def average(self, track: str) -> float:
        """Mean over the overlap ratios present (the paper's "Avg." column)."""
        vals = [v[track] for v in self.per_overlap.values()
                if track in v and not math.isnan(v[track])]
        return sum(vals) / len(vals) if vals else float("nan")


def write_score(path: str | Path, score: ScoreFile) -> None:
    """Write atomically (tmp + rename)."""
    path = Path(path)
    atomic_write_text(path, json.dumps(asdict(score), indent=1, ensure_ascii=False))


def read_score(path: str | Path) -> ScoreFile:
    """Read a score file; a malformed one raises ``ValueError`` naming the file."""
    try:
        d = json.loads(Path(path).read_text())
        return ScoreFile(**d)
    except (OSError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: not a valid score file ({e})") from e


def cer_from_counts(counts: dict[str, dict[str, int]]) -> dict[str, float]:
    """{"speech": {"err": e, "ref": n}} -> {"speech": 100 e / n}."""
    return {k: (100.0 * c["err"] / c["ref"] if c["ref"] else float("nan")) for k, c in counts.items()}
