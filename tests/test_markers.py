"""jrsv.markers: the one done-marker helper (write/read), and no marker written around it."""
import ast
import json
from pathlib import Path

from jrsv.markers import read_marker, write_marker

ROOT = Path(__file__).resolve().parents[1]


def test_round_trip_and_no_temp_left(tmp_path):
    p = write_marker(tmp_path / "sub" / "x.done", {"config": {"b": 1, "a": [1, 2]}, "sha256": "ab"})
    assert read_marker(p) == {"config": {"a": [1, 2], "b": 1}, "sha256": "ab"}
    assert [f.name for f in (tmp_path / "sub").iterdir()] == ["x.done"]


def test_missing_corrupt_or_not_an_object_is_not_done(tmp_path):
    assert read_marker(tmp_path / "none") is None
    (tmp_path / "bad").write_text("{not json")
    assert read_marker(tmp_path / "bad") is None
    (tmp_path / "list").write_text(json.dumps([1, 2]))
    assert read_marker(tmp_path / "list") is None
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    assert read_marker(tmp_path / "bin") is None


def _marker_writes_around_the_helper(path: Path) -> list[str]:
    """atomic_write_* calls whose target expression mentions 'done' (a marker written by hand)."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "atomic_write_text", "atomic_write_bytes") and node.args:
            target = ast.unparse(node.args[0])
            if "done" in target.lower() or "marker" in target.lower():
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {target}")
    return bad


def test_every_done_marker_goes_through_write_marker():
    files = [p for d in ("jrsv", "dtssvd", "recipes/dtssvd/local") for p in (ROOT / d).rglob("*.py")]
    bad = [b for f in files if f.name != "markers.py" for b in _marker_writes_around_the_helper(f)]
    assert bad == []


def test_the_check_sees_a_hand_written_marker(tmp_path):
    f = ROOT / "tests" / "_tmp_marker_probe.py"
    try:
        f.write_text("atomic_write_text(out / 'split.done.json', '{}')\n")
        assert _marker_writes_around_the_helper(f) != []
    finally:
        f.unlink()
