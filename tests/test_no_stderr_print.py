"""The library logs; only the programs (jrsv/bin) write to stderr themselves. Read with ast,
so nothing is imported."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "jrsv"


def _is_stderr(node: ast.AST) -> bool:
    """``sys.stderr`` (or a bare ``stderr`` from ``from sys import stderr``)."""
    return ((isinstance(node, ast.Attribute) and node.attr == "stderr"
             and isinstance(node.value, ast.Name) and node.value.id == "sys")
            or (isinstance(node, ast.Name) and node.id == "stderr"))


def stderr_prints(source: str, filename: str = "<src>") -> list[int]:
    """Line numbers of ``print(..., file=sys.stderr)`` and ``sys.stderr.write(...)`` calls."""
    lines = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id == "print":
            if any(k.arg == "file" and _is_stderr(k.value) for k in node.keywords):
                lines.append(node.lineno)
        elif isinstance(f, ast.Attribute) and f.attr in ("write", "writelines") and _is_stderr(f.value):
            lines.append(node.lineno)
    return lines


def test_the_detector_finds_both_forms():
    src = ("import sys\nfrom sys import stderr\nprint('a', file=sys.stderr)\nsys.stderr.write('b')\n"
           "print('c', file=stderr)\nprint('d')\nprint('e', file=out)\n")
    assert stderr_prints(src) == [3, 4, 5]


def test_library_modules_do_not_print_to_stderr():
    found = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent)
        if rel.parts[:2] == ("jrsv", "bin"):
            continue
        found += [f"{rel}:{n}" for n in stderr_prints(path.read_text(encoding="utf-8"), str(path))]
    assert not found, f"use logging in the library, not print to stderr: {found}"
