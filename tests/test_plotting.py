import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402
from conftest import build_datasets  # noqa: E402

from lib import datasets, plotting  # noqa: E402
from lib.profiles import DataSpec  # noqa: E402

TINY = DataSpec(detection_split=(4, 2, 2), detection_image=(96, 64), droplet_images=24, surface_images=8)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return build_datasets(tmp_path_factory.mktemp("cache"), TINY, seed=2)


def test_grids_and_distributions_draw_one_panel_per_image(folders):
    objects = datasets.detection_objects(folders["microparts"])
    stems = objects.image.drop_duplicates().head(3).tolist()
    fig = plotting.detection_grid(folders["microparts"], objects, datasets.CLASS_NAMES["microparts"], stems, cols=2)
    assert sum(bool(ax.images) for ax in fig.axes) == 3
    images = datasets.classification_images(folders["droplets"], "droplets")
    fig = plotting.class_grid(folders["droplets"], images, datasets.CLASS_NAMES["droplets"], per_class=2, seed=0)
    assert sum(bool(ax.images) for ax in fig.axes) == 8
    assert len(plotting.object_distributions(objects).axes) >= 2


def test_cards_count_what_is_on_disk(folders):
    card = datasets.detection_card(folders["microparts"])
    assert card.loc["total", "images"] == 8 and card.loc["total", "images (paper)"] == 1538
    card = datasets.classification_card(folders["droplets"], "droplets")
    assert card.total.sum() == 24 and list(card["total (paper)"]) == [817, 740, 544, 361]
