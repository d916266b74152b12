import subprocess
import sys


def test_bench_model_tiny_prints_ratio_against_baseline():
    out = subprocess.run([sys.executable, "-m", "jrsv.bin.bench_model", "--tiny", "--repeats", "1",
                          "--threads", "1", "--models", "ref_mtass,mtass"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    row = [ln for ln in out.stdout.splitlines() if ln.startswith("| mtass |")][0]
    assert "x ref_mtass" in row
    assert float(row.split("|")[-2].strip().split("x")[0]) > 0
