"""Offline datasets: Minari loading, X% subsets, normalized scores, local D4RL-style generation."""

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

__all__ = [
    "DatasetCorruptError", "DatasetNotFoundError", "MissingReferenceScoresError", "list_local",
    "load", "normalized_score", "project_datasets_root", "reference_scores", "subset",
    "subset_indices",
]
