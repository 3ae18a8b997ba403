"""The whole study on a real-layout dataset that the generator did not make (tests/handmade.py):
no masks, as most real sets have none, and classes under names of their own, mapped to the
study's by a class_names.yaml. Every notebook must run to the end, and what needs a mask must
say that it was skipped."""
import shutil

import handmade
import pandas as pd
import pytest

from lib.study import paths, pipeline


@pytest.mark.slow
def test_every_notebook_runs_on_a_maskless_set_with_its_own_class_names(isolated, monkeypatch):
    data = handmade.write(isolated / "real")
    assert not list(data.rglob("masks"))
    shutil.copytree(paths.REPO_ROOT / "notebooks", isolated / "notebooks")
    monkeypatch.setenv("STUDY_DATA_DIR", str(isolated / "data"))  # the kernels' cache: empty, this test's own
    pipeline.run("smoke", data_root=str(data))

    out = isolated / "figures" / "smoke"
    for table in ("droplet_highlight_regions", "surface_layer_localisation"):
        assert "masks/" in pd.read_csv(out / f"{table}.csv").skipped[0]
        assert "REAL data" in (out / f"{table}.md").read_text()
    card = pd.read_csv(out / "dataset_card_droplets.csv", index_col=0)
    assert card.loc["jagged", "folder in the data"] == "serrated" and card.loc["jagged", "total"] == 8
    assert "features: rectangular (data: slot)" in pd.read_csv(out / "dataset_card_microparts.csv").columns
    regions = pd.read_csv(out / "xu2024_table1_heatmap_iou.csv")
    assert len(regions) > 0
    for nb in (isolated / "data" / "runs" / "smoke").glob("*.ipynb"):
        assert "REAL data" in nb.read_text()
