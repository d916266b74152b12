"""jrsv.atomic: unique temp names, nothing partial on failure or signal, concurrent writers
(issue 16 defect 5), and that it is the only place that moves files into place."""
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fault_utils import ROOT, env1, leftovers
from jrsv.atomic import (TEMP_RE, AtomicTarget, atomic_path, atomic_write_bytes, atomic_write_text,
                         stale_temps, temp_name)


def test_temp_names_unique_per_process_and_call(tmp_path):
    a, b = temp_name(tmp_path / "x.json"), temp_name(tmp_path / "x.json")
    assert a != b and a.parent == tmp_path
    m = TEMP_RE.match(a.name)
    assert m and m["name"] == "x.json" and int(m["pid"]) == os.getpid()
    assert temp_name(tmp_path / "c.npy", ".npy").name.endswith(".tmp.npy")


def test_failure_leaves_old_content_and_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "old")
    for exc in (OSError("disk full"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with atomic_path(p) as tmp:
                tmp.write_text("partial")
                raise exc
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]
    t = AtomicTarget(tmp_path / "b.txt")
    t.tmp.write_text("x")
    t.discard()
    assert os.listdir(tmp_path) == ["a.txt"]


WRITER = """
import json, sys
from jrsv.atomic import atomic_write_text
path, me, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    atomic_write_text(path, json.dumps({"writer": me, "i": i, "pad": me * 20000}))
"""


def test_two_writers_of_one_name_readers_see_whole_files(tmp_path):
    """Before: both used NAME.json.tmp; readers saw empty or interleaved JSON and one writer got
    FileNotFoundError."""
    path = tmp_path / "out.json"
    atomic_write_text(path, json.dumps({"writer": "0", "i": -1, "pad": ""}))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), w, "150"], env=env1(),
                              stderr=subprocess.PIPE, text=True) for w in "12"]
    reads = 0
    while any(p.poll() is None for p in procs):
        d = json.loads(path.read_text())  # never partial
        assert d["pad"] == d["writer"] * 20000 or d["writer"] == "0"
        reads += 1
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    assert reads > 10 and leftovers(tmp_path) == []


SLOW_WRITER = """
import sys, time
from jrsv.atomic import atomic_path, install_signal_handlers
install_signal_handlers()
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "w") as f:
        f.write("partial")
        f.flush()
        print("writing", flush=True)
        time.sleep(60)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_signal_mid_write(tmp_path, sig):
    target = tmp_path / "a.bin"
    # the child starts with SIGINT at its default, as an interactive process has (a runner started
    # in the background, e.g. under nohup, passes SIGINT on as ignored and Ctrl-C would not apply)
    p = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], env=env1(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert p.stdout.readline() == "writing\n"
    p.send_signal(sig)
    p.wait(timeout=30)
    assert not target.exists()
    left = leftovers(tmp_path)
    if sig == signal.SIGKILL:  # cannot be caught: the temp stays, recognisably stale
        assert [Path(x) for x in left] == stale_temps(tmp_path) and len(left) == 1
    else:
        assert left == []


def test_only_the_helper_moves_files_into_place():
    """`grep -rn os.replace jrsv/ dtssvd/` finds only jrsv/atomic.py."""
    hits = []
    for d in ("jrsv", "dtssvd"):
        for f in (ROOT / d).rglob("*.py"):
            rel = f.relative_to(ROOT).as_posix()
            if rel == "jrsv/atomic.py":
                continue
            text = f.read_text(encoding="utf-8")
            hits += [f"{rel}: {m.group(0)}" for m in
                     re.finditer(r"os\.replace|os\.rename|\btmp\.replace\(|tempfile\.mkstemp", text)]
    assert hits == []


def test_bytes_and_text_roundtrip(tmp_path):
    atomic_write_bytes(tmp_path / "sub" / "b.bin", b"\x00\x01")
    assert (tmp_path / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert atomic_write_text(tmp_path / "t.txt", "é") == tmp_path / "t.txt"
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "é"
