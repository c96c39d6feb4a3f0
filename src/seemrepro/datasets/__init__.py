"""Offline datasets: any dataset id to a transition buffer, Minari loading, X% subsets,
normalized scores, and local D4RL-style generation (:mod:`seemrepro.datasets.generate`)."""

from seemrepro.datasets.minari_io import (
    DatasetCorruptError,
    DatasetNotFoundError,
    MissingReferenceScoresError,
    list_local,
    load,
    normalized_score,
    project_datasets_root,
    reference_scores,
    subset,
    subset_indices,
)
from seemrepro.datasets.resolve import load_subset, resolve_dataset

__all__ = [
    "DatasetCorruptError", "DatasetNotFoundError", "MissingReferenceScoresError", "list_local",
    "load", "load_subset", "normalized_score", "project_datasets_root", "reference_scores",
    "resolve_dataset", "subset", "subset_indices",
]
