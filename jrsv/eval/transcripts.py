"""Score ``jrsv decode`` transcripts against a DTSSVD list: the recipe's CER per overlap ratio
and track (the model card's Table 4 cells) from the files users get.

``jrsv decode DTSSVD/wav/SPLIT/*/mixture.wav --whole-input --beam-size 10 --output-dir HYP``
writes ``HYP/<id>/mixture.json`` per row (``dtssvd.build --write-wav`` names the mixtures
``wav/SPLIT/<id>/mixture.wav``); ``HYP/<id>.json`` is read too. Each track's text is its
segments' texts joined by spaces (one segment with ``--whole-input``), scored with
:meth:`jrsv.eval.tally.CerTally.add_text`, the counting the recipe's scoring uses.
"""
from __future__ import annotations

import json
from pathlib import Path

from jrsv.constants import TRACKS
from jrsv.data.manifest import read_jsonl
from jrsv.eval.scores import ScoreFile
from jrsv.eval.tally import CerTally


def transcript_path(hyp_dir: Path, utt_id: str) -> Path:
    """``HYP/<id>/mixture.json`` if it exists, else ``HYP/<id>.json``."""
    nested = hyp_dir / utt_id / "mixture.json"
    return nested if nested.is_file() else hyp_dir / f"{utt_id}.json"


def transcript_texts(path: Path) -> dict[str, str]:
    """A ``jrsv decode --format json`` file -> {track: text}; ``ValueError`` naming the file."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return {t: " ".join(seg["text"] for seg in d[t]) for t in TRACKS}
    except FileNotFoundError:
        raise ValueError(f"{path}: no such transcript") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a jrsv decode JSON transcript ({type(e).__name__}: "
                         f"{e})") from None


def score_transcripts(manifest: Path, hyp_dir: Path) -> CerTally:
    """CER counts of the transcripts of every row of a DTSSVD list (``dtssvd.build`` jsonl: ``id``,
    ``overlap``, ``speech.text``, ``singing.text``); ``ValueError`` naming a bad file."""
    try:
        rows = read_jsonl(str(manifest))
    except OSError as e:
        raise ValueError(f"{manifest}: cannot read the list ({e.strerror or e})") from None
    if not rows:
        raise ValueError(f"{manifest}: no rows")
    tally = CerTally(None)
    for n, r in enumerate(rows, 1):
        try:
            utt_id, key = str(r["id"]), f"{float(r['overlap']):.1f}"  # score-file key: "0.3"
            refs = {t: r[t]["text"] for t in TRACKS}
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{manifest}:{n}: not a DTSSVD row ({type(e).__name__}: {e})") from None
        hyps = transcript_texts(transcript_path(hyp_dir, utt_id))
        for t in TRACKS:
            tally.add_text(key, t, utt_id, refs[t], hyps[t])
    return tally


def score_file(tally: CerTally, system: str, command: str, table: int = 4) -> ScoreFile:
    """The recipe's score-file record (``jrsv.eval.scores``) of a CER tally."""
    return ScoreFile(table=table, system=system, metric="cer", per_overlap=tally.per_overlap(),
                     counts=tally.count_dict(), command=command)
