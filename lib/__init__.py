"""Shared code of the microvision study: every notebook imports from here; nothing here imports a notebook."""
import os as _os

from .study.paths import DATA_DIR as _DATA_DIR

# ultralytics reads these when it is first imported: never reach the network, keep its settings
# file inside the project, and leave the console to the study's own tables (its per-call logs
# would bury them in the notebooks). An explicit value in the environment wins.
_os.environ.setdefault("YOLO_OFFLINE", "1")
_os.environ.setdefault("YOLO_VERBOSE", "False")
_os.environ.setdefault("YOLO_CONFIG_DIR", str(_DATA_DIR / ".config"))
