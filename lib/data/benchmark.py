"""How long the synthetic generators take: each profile's dataset build projected from the
render time of a few images (a benchmark; kept out of :mod:`.datasets`, whose code keys the sets)."""
from __future__ import annotations

import os

import pandas as pd

from ..study.numerics import clock
from ..study.seeding import derive_seed
from .datasets import RENDERERS
from .read import CLASS_NAMES
from .synthetic import microparts


def _seconds_per_image(render, n: int) -> float:
    t0 = clock()
    for i in range(n):
        render(i)
    return (clock() - t0) / n


def generation_benchmark(profiles, n: int = 4, workers: int | None = None) -> pd.DataFrame:
    """Projected build time of each profile's datasets from single-process render times of ``n``
    images per dataset at that profile's image sizes (timings vary between runs)."""
    workers = workers or os.cpu_count() or 1
    rows = []
    for p in profiles:
        spec = p.data
        per = {"microparts": _seconds_per_image(lambda i: microparts.render(derive_seed("benchmark", i), *spec.detection_image), n)}
        for name, render in RENDERERS.items():
            per[name] = _seconds_per_image(lambda i: render(i % len(CLASS_NAMES[name]), derive_seed("benchmark", name, i), spec.classification_image), n)
        total = spec.detection_images * per["microparts"] + spec.droplet_images * per["droplets"] + spec.surface_images * per["surfaces"]
        rows.append({"profile": p.name, "images": spec.detection_images + spec.droplet_images + spec.surface_images,
                     **{f"s_per_image_{name}": s for name, s in per.items()}, "projected_build_s": total / workers})
    table = pd.DataFrame(rows).set_index("profile")
    table.attrs["labels"] = {**{f"s_per_image_{name}": f"s/image {name}" for name in per},
                             "projected_build_s": f"projected build s ({workers} workers)"}
    return table
