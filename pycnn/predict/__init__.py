"""`pycnn predict`: classify image files with a classic network, in one process or on a Ray or Dask cluster."""

from .extras import ExtraMissingError
from .images import IMAGENET, InputsError, Preprocessing, list_images
from .output import OutputError, Record, check_results_file
from .run import IMAGENET_LABELS_COUNT, Cluster, Summary, imagenet_labels, predict

__all__ = ["predict", "Cluster", "Preprocessing", "IMAGENET", "Record", "Summary", "list_images", "imagenet_labels",
           "IMAGENET_LABELS_COUNT", "check_results_file", "InputsError", "OutputError", "ExtraMissingError"]
