"""``crossreg demo --fast``: every step runs and the summary holds what it promises."""

from __future__ import annotations

import json

from crossreg.cli import main


def test_fast_demo_writes_every_step_and_the_summary(tmp_path):
    out = tmp_path / "demo"
    assert main(["-q", "demo", "--fast", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["genomes"]) == {"human", "mouse"}
    for genome, assays in summary["genomes"].items():
        assert set(assays) == {"ALL", "DNASE", "ATAC", "CHIP", "CAGE"}
        for row in assays.values():
            assert 0.9 < row["ceiling"] <= 1.0
            assert -1.0 <= row["test_r_joint"] <= 1.0 and -1.0 <= row["test_r_single"] <= 1.0
            assert 0 <= row["improved_by_joint"] <= row["tracks"]
        assert (out / "compare" / genome / "scatter.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "evaluate" / f"joint_on_{genome}" / "metrics.tsv").exists()
        assert (out / "models" / genome / "best" / "model.safetensors").exists()
    assert (out / "models" / "joint" / "metrics.csv").exists()
    assert "joint R" in (out / "summary.txt").read_text()
