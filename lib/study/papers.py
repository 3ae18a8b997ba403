"""The papers' published numbers, in one place (from ``STUDY_SPEC.md`` and the papers' text).

They appear in result tables only in columns labelled as the paper's, never as results.
"""
from __future__ import annotations

import pandas as pd

# xu2024 §4.3 and §4.4: test accuracy of the ResNet50 classifiers.
XU2024_ACCURACY = {"droplets": 0.9143, "surfaces": 0.9845}

# xu2024 Table 3: mean and standard deviation of highlight-pixel coordinates on 225x225 Guided
# Grad-CAM maps, per droplet class (Eq. 9-10).
XU2024_TABLE3 = pd.DataFrame(
    {"mean_x": [113.19, 108.37, 113.25, 126.11], "mean_y": [110.69, 104.25, 137.66, 92.33],
     "std_x": [22.84, 41.62, 42.90, 28.25], "std_y": [22.38, 33.16, 24.35, 31.13]},
    index=pd.Index(["circular", "jagged", "gourd", "irregular"], name="class"),
)

# xu2024 Table 1: pixel IoU (%) between the ground-truth region and the Grad-CAM highlight region
# (Eq. 8), per feature class, and CBAM's improvement in points (mean over the classes: 27.81).
XU2024_TABLE1 = pd.DataFrame(
    {"YOLOv5": [17.16, 10.48, 10.63], "YOLOv5-CBAM": [44.86, 42.79, 34.04], "improvement": [27.72, 32.31, 23.41]},
    index=pd.Index(["semicircular", "raised", "rectangular"], name="class"),
)

# xu2024 Table 2: detection on the test set with each feature occluded at a fixed rate.
XU2024_TABLE2 = pd.DataFrame(
    [(0.0, "YOLOv5", 0.999, 1.0, 0.995, 0.785), (0.0, "YOLOv5-CBAM", 0.999, 1.0, 0.995, 0.792),
     (0.3, "YOLOv5", 0.997, 1.0, 0.995, 0.737), (0.3, "YOLOv5-CBAM", 0.999, 1.0, 0.995, 0.771),
     (0.5, "YOLOv5", 0.997, 0.993, 0.995, 0.447), (0.5, "YOLOv5-CBAM", 0.998, 1.0, 0.995, 0.461),
     (0.7, "YOLOv5", 0.907, 0.751, 0.933, 0.258), (0.7, "YOLOv5-CBAM", 0.970, 0.972, 0.979, 0.317)],
    columns=["occlusion", "model", "precision", "recall", "map50", "map50_95"],
)

# xu2024 §3.3: CBAM is chosen because its mAP@0.5:0.95 is about 2 % above the other variants.
XU2024_SELECTED_VARIANT = "CBAM"
# The two detectors xu2024 compares throughout, under the names the study gives its variants.
XU2024_BASELINE = "YOLOv5"
XU2024_SELECTED = f"YOLOv5-{XU2024_SELECTED_VARIANT}"
# xu2024 Eq. 3's Guided Grad-CAM under the name the study's map checks give it, beside the CAM
# methods' names of the grad-cam package ("gradcam", "layercam", ...).
GUIDED = "guided gradcam"

# liu2023 Fig. 3 (text of §3): confidence of the predicted class at two noise variances.
LIU2023_FIG3 = pd.DataFrame(
    {"ResNet50": [0.807, 0.481], "ResNet50+Dropout": [0.983, 0.766], "ResNet50+DropKey": [0.998, 0.878]},
    index=pd.Index([0.5, 0.6], name="variance"),
)
