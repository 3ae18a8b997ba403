"""Evaluating and running trained YOLOv5 variants (xu2024 §3.3, §4.2): ultralytics' validator
for P, R and mAP, its predictor for boxes, thop for GFLOPs, and a step-time benchmark.

Kept apart from :mod:`lib.detection.training`, whose source keys the trained models' cache:
changing how models are scored must not retrain them.
"""
from __future__ import annotations

import contextlib
import tempfile
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..data import occluded
from ..data.read import detection_objects, find_image, load_rgb
from ..data.synthetic.occlusion import covered_fraction
from ..study import benchmark, papers, reporting
from ..study.seeds import SEED, by_seed
from . import detectors
from .models import load_detector
from .training import data_yaml, ultralytics_device

METRICS = ("precision", "recall", "map50", "map50_95")


def evaluate(artifact: str | Path, folder: str | Path, split: str = "test", *, imgsz: int, batch: int = 16,
             device: str = "cpu") -> tuple[pd.DataFrame, dict]:
    """ultralytics' validator on ``split`` of the detection set in ``folder``.

    Returns one row for ``all`` and one per class (precision, recall, map50, map50_95,
    instances), and ultralytics' speed record (ms per image for each stage; a measurement that
    varies between runs).
    """
    model = load_detector(artifact)
    with tempfile.TemporaryDirectory() as tmp:
        m = model.val(data=str(data_yaml(folder, Path(tmp) / "data.yaml")), split=split, imgsz=imgsz, batch=batch,
                      device=ultralytics_device(device), workers=0, plots=False, verbose=False, project=tmp,
                      name="val", exist_ok=True)
    rows = [{"class": "all", "precision": m.box.mp, "recall": m.box.mr, "map50": m.box.map50, "map50_95": m.box.map,
             "instances": int(m.nt_per_class.sum())}]
    for i, c in enumerate(m.ap_class_index):
        p, r, ap50, ap = m.box.class_result(i)
        rows.append({"class": m.names[int(c)], "precision": p, "recall": r, "map50": ap50, "map50_95": ap,
                     "instances": int(m.nt_per_class[c])})
    return pd.DataFrame(rows).set_index("class").astype({k: float for k in METRICS}), dict(m.speed)


def evaluate_runs(runs: dict[int, dict[str, Path]], folder: str | Path, *, imgsz: int, device: str = "cpu"
                  ) -> dict[int, dict[str, tuple[pd.DataFrame, dict]]]:
    """:func:`evaluate` of every detector of every training seed (``runs[seed][name]``) on ``folder``'s test split."""
    return {s: {name: evaluate(a, folder, imgsz=imgsz, device=device) for name, a in arts.items()} for s, arts in runs.items()}


@contextlib.contextmanager
def unoccluded_view(folder: str | Path, split: str = "test"):
    """The images of ``split`` in which no labelled feature is covered, as a detection set of links
    in a temporary folder (removed on exit): the clean task, apart from the manipulator's cover
    that about 30 % of the images show (xu2024 §3.2). Yields ``None`` when the covers are unknown
    (a real set without masks) or every image has a covered feature."""
    folder = Path(folder)
    objects = detection_objects(folder)
    covers = objects[objects.split == split].groupby("image").occluded_fraction.max()
    stems = {p.stem for p in (folder / "labels" / split).glob("*.txt")} - set(covers.index[covers != 0])
    if covers.isna().any() or not stems:
        yield None
        return
    with tempfile.TemporaryDirectory() as tmp:
        view = Path(tmp)
        for kind in ("images", "labels"):
            (view / kind / split).mkdir(parents=True)
        for stem in sorted(stems):
            image = find_image(folder / "images" / split, stem)
            if image is not None:  # a label without its image is the validator's to report
                for source in (image, folder / "labels" / split / f"{stem}.txt"):
                    (view / source.parent.parent.name / split / source.name).symlink_to(source.resolve())
        for name in ("data.yaml", "class_names.yaml"):  # read.detection_names reads both
            if (folder / name).is_file():
                (view / name).symlink_to((folder / name).resolve())
        yield view


def unoccluded_scores(runs: dict[int, dict[str, Path]], folder: str | Path, *, imgsz: int, device: str = "cpu"
                      ) -> tuple[dict[int, dict[str, pd.DataFrame]], int]:
    """:func:`evaluate`'s table of every detector of every seed on :func:`unoccluded_view`, and
    how many test images that holds (``({}, 0)`` where the covers are unknown)."""
    with unoccluded_view(folder) as view:
        if view is None:
            return {}, 0
        scores = evaluate_runs(runs, view, imgsz=imgsz, device=device)
        return {s: {name: table for name, (table, _) in by_name.items()} for s, by_name in scores.items()}, \
            len(list((view / "images" / "test").iterdir()))


def evaluate_sets(artifacts: dict[str, Path], sets: dict[float, Path], *, imgsz: int, split: str = "test",
                  device: str = "cpu") -> pd.DataFrame:
    """Every model on every set: one row per (set key, model) with the overall metrics.

    ``artifacts`` maps a model's display name to its trained artifact, ``sets`` e.g. an
    occlusion rate to the detection set scored at it.
    """
    rows = []
    pairs = [(k, name) for k in sets for name in artifacts]
    for k, name in tqdm(pairs, desc="evaluating", leave=False):
        table, _ = evaluate(artifacts[name], sets[k], split, imgsz=imgsz, device=device)
        rows.append({"set": k, "model": name, **table.loc["all", list(METRICS)].to_dict()})
    return pd.DataFrame(rows)


def detect(artifact: str | Path, images: list[np.ndarray], *, imgsz: int, conf: float = 0.25,
            device: str = "cpu") -> list[pd.DataFrame]:
    """Detections on RGB uint8 images: one frame per image (x1, y1, x2, y2 in px, conf, class_id)."""
    model = load_detector(artifact)
    bgr = [cv2.cvtColor(img, cv2.COLOR_RGB2BGR) for img in images]  # ultralytics reads arrays as BGR
    results = model.predict(bgr, imgsz=imgsz, conf=conf, device=ultralytics_device(device), verbose=False)
    frames = []
    for r in results:
        boxes = r.boxes.cpu()
        frame = pd.DataFrame(boxes.xyxy.numpy(), columns=["x1", "y1", "x2", "y2"])
        frames.append(frame.assign(conf=boxes.conf.numpy(), class_id=boxes.cls.numpy().astype(int)))
    return frames


def match_detections(detections: pd.DataFrame, truth: np.ndarray, occluder: np.ndarray, *, iou: float = 0.5,
                     cover: float = 0.5) -> pd.DataFrame:
    """One image's ``detections`` (from :func:`detect`) with ``false_positive`` (IoU below ``iou``
    with every labelled box in ``truth``, whatever its class) and ``on_occluder`` (a false positive
    with at least ``cover`` of its box on the boolean ``occluder`` mask: the manipulator boxed as a
    feature)."""
    from torchvision.ops import box_iou

    boxes = detections[["x1", "y1", "x2", "y2"]].to_numpy(float)
    if len(boxes) and len(truth):
        best = box_iou(torch.tensor(boxes), torch.tensor(truth, dtype=torch.float64)).max(1).values.numpy()
    else:
        best = np.zeros(len(boxes))
    false_positive = best < iou
    on = np.array([covered_fraction(occluder, b) >= cover for b in boxes], bool)
    return detections.assign(false_positive=false_positive, on_occluder=false_positive & on)


def occluder_false_positives(artifacts: dict[str, Path], folder: str | Path, rates, *, imgsz: int, kind: str = "gripper",
                             seed: int = 0, split: str = "test", conf: float = 0.25, device: str = "cpu") -> pd.DataFrame:
    """Per occlusion rate above 0 and model: the detections on the occluded ``split`` of the set in
    ``folder`` (:func:`lib.data.occluded.occluded_sets`), the false positives among them, and those
    that fall on the added occluder alone (its mask is drawn again from the set's seed). A jaw the
    generator drew into a scene itself has no mask: its false positives count as false positives only."""
    folder = Path(folder)
    objects = detection_objects(folder)
    objects = objects[objects.split == split]
    rows = []
    for rate, occluded_folder in occluded.occluded_sets(folder, [r for r in rates if r > 0], kind=kind, seed=seed).items():
        stems = sorted(p.stem for p in (occluded_folder / "labels" / split).glob("*.txt"))
        images = [load_rgb(find_image(occluded_folder / "images" / split, s)) for s in stems]
        truth = {s: objects.loc[objects.image == s, ["x1", "y1", "x2", "y2"]].to_numpy(float) for s in stems}
        masks = [occluded.painted_mask(truth[s], image.shape[:2], rate, stem=s, kind=kind, seed=seed)
                 for s, image in zip(stems, images)]
        for name, artifact in artifacts.items():
            found = detect(artifact, images, imgsz=imgsz, conf=conf, device=device)
            matched = [match_detections(f, truth[s], m) for f, s, m in zip(found, stems, masks)]
            every = pd.concat(matched, ignore_index=True)
            rows.append({"occlusion": rate, "model": name, "images": len(stems), "detections": len(every),
                         "false positives": int(every.false_positive.sum()),
                         "on the occluder": int(every.on_occluder.sum()),
                         "share of detections on the occluder": every.on_occluder.mean() if len(every) else np.nan,
                         "images with one on the occluder": float(np.mean([m.on_occluder.any() for m in matched]))})
    return pd.DataFrame(rows)


def recall_by_cover(confidences: dict[str, np.ndarray], feats: pd.DataFrame, rates=(0.3, 0.5, 0.7), *,
                    conf: float = 0.25) -> pd.DataFrame:
    """Per detector and band of covered fraction: how many labelled features the band holds and the
    share found, a same-class detection of confidence >= ``conf`` at IoU >= 0.5 with the box
    (``confidences[name][i]`` is feature i's best, as
    :func:`lib.detection.heatmap_scores.detection_confidences` gives it).

    The cover is the scene's own (``occluded_fraction``, the generator's jaw), so this reads the
    unmodified test split by how occluded each feature already is: "uncovered", then the bands
    between the occlusion ``rates`` above 0, (0, r1], (r1, r2], ... (rk, 100 %]. Empty where the
    covers are unknown (a real set without masks)."""
    covered = feats["occluded_fraction"].to_numpy(float)
    if np.isnan(covered).any():
        return pd.DataFrame(columns=["model", "cover", "features", "recall"])
    edges = [0.0, *sorted(r for r in rates if 0 < r < 1), 1.0]
    labels = ["uncovered", *(f"{lo:.0%}-{hi:.0%}" for lo, hi in zip(edges, edges[1:]))]
    band = pd.cut(covered, [-np.inf, *edges], labels=labels)
    rows = []
    for name, best in confidences.items():
        found = pd.Series(np.asarray(best) >= conf).groupby(band, observed=False)
        rows.append(pd.DataFrame({"model": name, "cover": labels, "features": found.size().to_numpy(),
                                  "recall": found.mean().to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def complexity(variant: str, scale: str, nc: int, imgsz: int) -> dict:
    """Parameters and GFLOPs of ``variant`` at a square input of ``imgsz`` (thop, as ultralytics counts)."""
    from ultralytics.utils.torch_utils import get_flops, get_num_params

    with tempfile.TemporaryDirectory() as tmp:
        model = detectors.build_detector(variant, scale, nc, tmp).model
    return {"parameters": get_num_params(model), "gflops": get_flops(model, imgsz)}


def complexity_table(variants, nc: int, settings: list[tuple[str, int]]) -> pd.DataFrame:
    """Parameters and GFLOPs of each variant at each (scale, input size), one row per variant."""
    rows, labels = [], {}
    for v in variants:
        row = {"model": detectors.display_name(v)}
        for scale, imgsz in dict.fromkeys(settings):
            c = complexity(v, scale, nc, imgsz)
            row[f"parameters_{scale}"] = c["parameters"]
            row[f"gflops_{scale}_{imgsz}"] = round(c["gflops"], 2)
            labels |= {f"parameters_{scale}": f"parameters ({scale})", f"gflops_{scale}_{imgsz}": f"GFLOPs ({scale}, {imgsz} px)"}
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    table.attrs["labels"] = labels
    return table


def comparison_table(scores: dict[str, tuple[pd.DataFrame, dict]], histories: dict[str, pd.DataFrame],
                     sizes: pd.DataFrame, scale: str, imgsz: int, unoccluded: dict[str, pd.DataFrame] | None = None
                     ) -> pd.DataFrame:
    """One row per detector: test P, R, mAP (from :func:`evaluate`); mAP on the test images where
    no feature is covered (``unoccluded``, :func:`evaluate` on :func:`unoccluded_view`; NaN
    without); the validation mAP@0.5:0.95 of the kept epoch (ultralytics keeps the epoch where it
    peaks) and how much validation mAP@0.5 still rose over the last quarter of the epochs (near 0
    when the curve is flat); parameters and GFLOPs at the trained scale and size; median training
    seconds per epoch and inference ms per image."""
    rows = []
    for name, (table, speed) in scores.items():
        h = histories[name]
        epoch_s = h.elapsed_s.diff().fillna(h.elapsed_s.iloc[0])
        kept = h.loc[h.map50_95.idxmax()]
        quarter = max(1, round(len(h) / 4))
        clean = unoccluded[name].loc["all"] if unoccluded else pd.Series(np.nan, index=["map50", "map50_95"])
        rows.append({"model": name, **table.loc["all", list(METRICS)].to_dict(),
                     "map50_unoccluded": clean.map50, "map50_95_unoccluded": clean.map50_95,
                     "val_map50_95_kept": kept.map50_95, "kept_epoch": int(kept.epoch),
                     "val_map50_last_quarter_gain": h.map50.iloc[-1] - h.map50.iloc[max(0, len(h) - 1 - quarter)],
                     "parameters": int(sizes.loc[name, f"parameters_{scale}"]),
                     "gflops": sizes.loc[name, f"gflops_{scale}_{imgsz}"],
                     "train_s_per_epoch": float(epoch_s.median()), "inference_ms_per_image": speed["inference"]})
    return pd.DataFrame(rows).set_index("model")


def step_time_ratios(variants, scale: str, nc: int, *, imgsz: int, batch: int, repeats: int = 5,
                     seed: int = 0) -> pd.DataFrame:
    """Forward + backward time of one training batch per variant, relative to the baseline.

    Every variant runs in the same process on the same batch, interleaved round by round, so
    that a drift in machine load hits all of them alike and cancels in the ratio to the median
    baseline step. A benchmark: the absolute times vary between runs, the ratios far less.
    """
    variants = list(dict.fromkeys(["baseline", *variants]))
    torch.manual_seed(seed)
    x = torch.rand(batch, 3, imgsz, imgsz)
    with tempfile.TemporaryDirectory() as tmp:
        models = {v: detectors.build_detector(v, scale, nc, tmp).model.train() for v in variants}
    median = benchmark.interleaved_seconds({v: partial(training_pass, model, x) for v, model in models.items()}, repeats)
    return pd.DataFrame({
        "variant": variants,
        "step_s_median": [median[v] for v in variants],
        "ratio_to_baseline": [median[v] / median["baseline"] for v in variants],
    }).set_index("variant")


def training_pass(model: torch.nn.Module, x: torch.Tensor) -> None:
    """Forward and backward of a training-mode detector on ``x`` (a loss-free stand-in: the sum of its outputs)."""
    sum(t.float().sum() for t in _tensors(model(x))).backward()
    model.zero_grad(set_to_none=True)


def _tensors(out) -> list[torch.Tensor]:
    """The tensors of a training-mode Detect output (nested dicts, lists or tuples of tensors)."""
    if isinstance(out, torch.Tensor):
        return [out]
    items = out.values() if isinstance(out, dict) else out
    return [t for item in items for t in _tensors(item)]


def variant_selection(comparison: pd.DataFrame, metric: str = "map50_95", *, baseline: str = papers.XU2024_BASELINE,
                      paper_choice: str = papers.XU2024_SELECTED) -> pd.DataFrame:
    """The detectors ranked by ``metric``, with each one's gap to the baseline and to the mean of
    the other attention variants (the paper's "about 2 % above the others"), in points."""
    scores = comparison[metric]
    attended = scores.drop(baseline, errors="ignore")
    rows = []
    for name, value in scores.sort_values(ascending=False).items():
        others = attended.drop(name, errors="ignore")
        rows.append({"model": name, metric: value, "rank": len(rows) + 1,
                     "vs_baseline_points": 100 * (value - scores[baseline]) if baseline in scores else float("nan"),
                     "vs_other_attention_points": 100 * (value - others.mean()) if name != baseline and len(others) else float("nan"),
                     "paper_choice": name == paper_choice})
    return pd.DataFrame(rows).set_index("model")


def selection_by_seed(comparison: pd.DataFrame, metric: str = "map50_95", *, baseline: str = papers.XU2024_BASELINE,
                      paper_choice: str = papers.XU2024_SELECTED) -> pd.DataFrame:
    """:func:`variant_selection` once per training seed of ``comparison`` (one row per seed and
    model, a ``seed`` column): each seed's detectors ranked among the variants that trained with
    the first seed only, at their first-seed scores. One row per seed and detector trained with it."""
    first = comparison[SEED].min()
    base = comparison[comparison[SEED] == first].set_index("model")
    frames = {}
    for seed, own in comparison.groupby(SEED):
        own = own.set_index("model").drop(columns=SEED)
        field = pd.concat([own, base.drop(index=own.index, columns=SEED)])
        ranked = variant_selection(field, metric, baseline=baseline, paper_choice=paper_choice)
        frames[seed] = ranked[ranked.index.isin(own.index)]
    return by_seed(frames)


def selection_verdict(selection: pd.DataFrame, metric: str = "map50_95", *, paper_choice: str = papers.XU2024_SELECTED,
                      label: str | None = None) -> str:
    """One paragraph from :func:`selection_by_seed`'s table: what the data select by ``metric``
    (called ``label`` in the text, its display label by default) with the first training seed, and
    where the paper's choice lands with each seed."""
    first = selection[selection[SEED] == selection[SEED].min()].set_index("model")
    best = first.index[0]
    text = f"By {label or reporting.label(metric)}, the data select {best} ({first.loc[best, metric]:.3f}) with the first training seed."
    choice = selection[selection.model == paper_choice]
    if choice.empty:
        return text + f" The paper's choice, {paper_choice}, was not trained in this run."
    ranks = ", ".join(str(int(r)) for r in choice["rank"])
    text += (f" The paper's choice, {paper_choice}, ranks {ranks} of {len(first)} with training seed(s) "
             f"{', '.join(str(s) for s in choice[SEED])}: on average {choice.vs_baseline_points.mean():+.1f} points against "
             f"the baseline and {choice.vs_other_attention_points.mean():+.1f} against the mean of the other attention "
             f"variants (the paper: about +2). It ranks first with {int((choice['rank'] == 1).sum())} of {len(choice)} seed(s).")
    return text


def predictions_on_sets(artifacts: dict[str, Path], sets: dict, stems: list[str], *, imgsz: int, split: str = "test",
                        conf: float = 0.25, device: str = "cpu") -> tuple[dict, dict]:
    """Each model's detections on the same images of every set (xu2024 Fig. 11).

    Returns ``images[(set key, stem)]`` (RGB) and ``detections[(set key, stem, model)]``, the
    inputs of :func:`lib.detection.plots.prediction_grid`.
    """
    images = {(k, s): load_rgb(find_image(Path(folder) / "images" / split, s)) for k, folder in sets.items() for s in stems}
    detections = {}
    for name, artifact in artifacts.items():
        for k in sets:
            frames = detect(artifact, [images[(k, s)] for s in stems], imgsz=imgsz, conf=conf, device=device)
            detections.update({(k, s, name): f for s, f in zip(stems, frames)})
    return images, detections


def metrics_beside_paper(results: pd.DataFrame, paper: pd.DataFrame, keys: list[str], label: str = "xu2024") -> pd.DataFrame:
    """The rows of ``results`` that the paper reports, each metric followed by the paper's value
    in a column named ``<metric>_<label>``; indexed by ``keys``, after ``seed`` where ``results``
    holds several training seeds."""
    metrics = [c for c in paper.columns if c not in keys]
    merged = results.merge(paper, on=keys, how="inner", suffixes=("", f"_{label}"))
    index = [SEED, *keys] if SEED in results else keys
    return merged[index + [c for m in metrics for c in (m, f"{m}_{label}")]].set_index(index)


def occlusion_verdict(results: pd.DataFrame, paper: pd.DataFrame, *, baseline: str = papers.XU2024_BASELINE,
                      attended: str = papers.XU2024_SELECTED, metrics=("map50", "map50_95")) -> str:
    """How the attended detector's lead over the baseline moves with occlusion, ours (the mean
    over training seeds where ``results`` has a ``seed`` column) beside the paper's (its headline:
    +4.6 points of mAP@0.5 at 70 %), and what occlusion costs each model."""
    if SEED in results:
        results = results.groupby(["occlusion", "model"], as_index=False, sort=False)[list(METRICS)].mean()

    def gaps(table):
        wide = table.pivot(index="occlusion", columns="model", values=list(metrics))
        return {m: 100 * (wide[m][attended] - wide[m][baseline]) for m in metrics}

    ours, theirs = gaps(results), gaps(paper)
    lines = []
    for m in metrics:
        pairs = ", ".join(f"{r:.0%}: {ours[m][r]:+.1f}" + (f" (xu2024 {theirs[m][r]:+.1f})" if r in theirs[m] else "")
                          for r in ours[m].index)
        lines.append(f"{attended} minus {baseline}, {reporting.label(m)} in points, by occlusion: {pairs}.")
    worst = results.occlusion.max()
    for model in (baseline, attended):
        r = results[results.model == model].set_index("occlusion")
        lines.append(f"{model}: mAP50 {r.loc[0.0, 'map50']:.3f} at 0 % and {r.loc[worst, 'map50']:.3f} at {worst:.0%} "
                     f"({100 * (r.loc[worst, 'map50'] - r.loc[0.0, 'map50']):+.1f} points).")
    return "\n".join(lines)


def most_labelled(objects: pd.DataFrame, n: int, split: str = "test") -> list[str]:
    """The ``n`` images of ``split`` with the most labelled features (ties by name): the busiest
    scenes, where occlusion and attention have the most to show."""
    counts = objects[objects.split == split].groupby("image").size()
    return sorted(counts.index, key=lambda s: (-counts[s], s))[:n]
