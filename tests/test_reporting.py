import matplotlib.pyplot as plt
import pandas as pd
import pytest

from lib.study import reporting, seeds
from lib.study.reporting import Study, displayed, label


def test_header_states_profile_seed_commit_and_synthetic_data(isolated):
    study = Study.start("smoke", seed=7)
    text = study.header()
    for needle in ("profile : smoke", "seed    : 7", "commit  :", "SYNTHETIC", "reduced from the papers' settings",
                   "results : figures/smoke/", "device  : cpu", "machine :", "torch CPU kernels", "threads", "dtype   : float32"):
        assert needle in text
    assert "REAL data" in Study.start("smoke", data_root=str(isolated)).data_label


def test_bad_data_root_fails_clearly(isolated):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        Study.start("smoke", data_root=str(isolated / "nowhere"))


def test_tables_are_rounded_stamped_and_reproducible(isolated):
    study = Study.start("smoke")
    df = pd.DataFrame({"images": [800, 12], "iou": [0.123456, 0.5]}, index=["a", "b"])
    out = study.save_table(df, "t", decimals=3)
    csv = (isolated / "figures" / "smoke" / "t.csv").read_text()
    assert out.iloc[0, 1] == 0.123 and "0.123" in csv and "0.1235" not in csv
    md = (isolated / "figures" / "smoke" / "t.md").read_text()
    assert "800.0" not in md and " 800 " in md
    assert "SYNTHETIC" in md and "profile 'smoke'" in md
    study.save_table(df, "t", decimals=3)
    assert (isolated / "figures" / "smoke" / "t.csv").read_text() == csv


def test_a_per_seed_table_shows_the_reader_its_summary_across_seeds(isolated):
    study = Study.start("smoke")
    assert study.seeds == [study.seed + i for i in range(study.profile.classifier.seeds)]
    assert study.detector_seeds == [study.seed + i for i in range(study.profile.detector.seeds)] and len(study.detector_seeds) > 1
    per_seed = pd.DataFrame({"seed": [0, 1, 2], "model": "m", "p_true": [0.5, 0.6, 0.7]})
    summary = seeds.across_seeds(per_seed, ["model"], ["p_true"])
    study.save_table(per_seed, "s", decimals=3, index=False, markdown=seeds.readable(summary, ["p_true"]))
    csv = (isolated / "figures" / "smoke" / "s.csv").read_text().splitlines()
    assert csv[0] == "seed,model,probability of the true class" and len(csv) == 4
    md = (isolated / "figures" / "smoke" / "s.md").read_text()
    assert "| model " in md and "0.600 (0.346 to 0.813)" in md and "seeds |" in md


def test_figures_are_written_as_png_and_reproducible_pdf(isolated):
    study = Study.start("smoke")
    pdfs = []
    for _ in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        study.save_figure(fig, "f")
        plt.close(fig)
        pdfs.append((isolated / "figures" / "smoke" / "f.pdf").read_bytes())
    assert (isolated / "figures" / "smoke" / "f.png").stat().st_size > 0
    assert pdfs[0] == pdfs[1]


def test_figures_are_light_in_the_notebook_and_sharp_in_the_files(isolated):
    from PIL import Image

    study = Study.start("smoke")
    fig, ax = plt.subplots(figsize=(4, 2))
    assert fig.dpi == reporting.INLINE_DPI < reporting.FIGURE_DPI  # what the notebook shows
    study.save_figure(fig, "f", stamp=False)
    plt.close(fig)
    width = Image.open(isolated / "figures" / "smoke" / "f.png").size[0]
    assert width > 4 * reporting.INLINE_DPI and abs(width - 4 * reporting.FIGURE_DPI) < 0.1 * 4 * reporting.FIGURE_DPI


def test_staging_folder_receives_results(isolated, monkeypatch):
    monkeypatch.setenv("STUDY_FIGURES_DIR", str(isolated / "stage"))
    Study.start("quick").save_table(pd.DataFrame({"a": [1]}), "x")
    assert (isolated / "stage" / "x.csv").exists() and not (isolated / "figures").exists()


def test_a_skipped_table_says_why_where_the_table_would_be(isolated, capsys):
    study = Study.start("smoke")
    study.save_skipped("regions", "no masks")
    assert "regions: skipped: no masks" in capsys.readouterr().out
    md = (isolated / "figures" / "smoke" / "regions.md").read_text()
    assert "no masks" in md and "SYNTHETIC" in md
    assert pd.read_csv(isolated / "figures" / "smoke" / "regions.csv").skipped.tolist() == ["no masks"]


def test_identifier_columns_are_labelled_only_for_the_reader(isolated):
    assert label("map50_95") == "mAP50-95" and label("map50_95_xu2024") == "mAP50-95 (xu2024)"
    assert label("iou") == "iou" and label(0.5) == 0.5 and label("improvement_points_xu2024") == "improvement (points) (xu2024)"
    df = pd.DataFrame({"baseline_iou": [0.5], "kept_epoch": [3], 1.5: [0.2]}, index=pd.Index(["a"], name="step_s_median"))
    df.attrs["labels"] = {"baseline_iou": "YOLOv5 IoU %", 1.5: "confidence at 1.5"}
    shown = displayed(df)
    assert list(shown.columns) == ["YOLOv5 IoU %", "kept epoch", "confidence at 1.5"] and shown.index.name == "step_s (median)"
    assert list(df.columns) == ["baseline_iou", "kept_epoch", 1.5]  # the computed table keeps its identifiers
    out = Study.start("smoke").save_table(df, "labelled")
    assert list(out.columns) == list(shown.columns)
    assert (isolated / "figures" / "smoke" / "labelled.csv").read_text().startswith("step_s (median),YOLOv5 IoU %,kept epoch,confidence at 1.5")
