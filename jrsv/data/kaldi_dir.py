"""Generic Kaldi/WeNet data dirs: `wav.scp` (id path) + `text` (id transcript)."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from jrsv.data.records import ReadReport, Utterance


def read_kv(path: Path) -> Dict[str, str]:
    """Read `key value...` lines (first whitespace splits); raises ValueError naming the file."""
    out: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(maxsplit=1)
            if len(parts) < 2:
                raise ValueError(f"{path}:{n}: expected 'key value', got {line!r}")
            out[parts[0]] = parts[1]
    return out


def read_kaldi_dir(data_dir: str, report: Optional[ReadReport] = None) -> List[Utterance]:
    """Utterances of a Kaldi dir; speaker from `utt2spk` if present else the id.

    Ids in wav.scp without text go to `report.untranscribed`; text without wav to `missing_audio`.
    Piped wav.scp entries (`cmd |`) are not supported and raise ValueError.
    """
    d = Path(data_dir)
    for name in ("wav.scp", "text"):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d / name}: missing (a Kaldi data dir needs wav.scp and text)")
    wavs, texts = read_kv(d / "wav.scp"), read_kv(d / "text")
    spk = read_kv(d / "utt2spk") if (d / "utt2spk").is_file() else {}
    rep = report if report is not None else ReadReport()
    out = []
    for uid in sorted(wavs):
        p = wavs[uid]
        if p.endswith("|"):
            raise ValueError(f"{d / 'wav.scp'}: piped entry for {uid} not supported")
        if uid not in texts:
            rep.untranscribed.append(p)
            continue
        if not Path(p).is_absolute():
            p = str((d / p).resolve()) if (d / p).exists() else p
        out.append(Utterance(uid, p, texts[uid], spk.get(uid, uid)))
    rep.missing_audio.extend(sorted(set(texts) - set(wavs)))
    return out


def write_kaldi_dir(utts: List[Utterance], data_dir: str) -> None:
    """Write wav.scp, text, utt2spk (sorted by id)."""
    from jrsv.data.audio import atomic_write_bytes
    d = Path(data_dir)
    utts = sorted(utts, key=lambda u: u.id)
    atomic_write_bytes(d / "wav.scp", "".join(f"{u.id} {u.path}\n" for u in utts).encode())
    atomic_write_bytes(d / "text", "".join(f"{u.id} {u.text}\n" for u in utts).encode())
    atomic_write_bytes(d / "utt2spk", "".join(f"{u.id} {u.speaker}\n" for u in utts).encode())
