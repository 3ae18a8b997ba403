"""xu2024's detectors: the attention modules, the YOLOv5 variants, training and evaluating them
through ultralytics, their Grad-CAM and its scores against each feature's mask."""
