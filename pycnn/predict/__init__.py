"""`pycnn predict`: classify image files with a classic network, in one process or on a Ray or Dask cluster."""

from .images import IMAGENET, InputsError, PillowMissingError, Preprocessing, list_images, require_pillow
from .output import OutputError, Record, check_results_file
from .run import IMAGENET_LABELS_COUNT, Summary, imagenet_labels, predict

__all__ = ["predict", "Preprocessing", "Record", "Summary", "list_images", "imagenet_labels", "InputsError",
           "OutputError", "check_results_file", "IMAGENET_LABELS_COUNT",
           "IMAGENET", "PillowMissingError", "require_pillow"]
