"""Offline sample quality: FD, KID and precision/recall against a dataset's real images.

    from ganedge.metrics import Evaluator
    scores = Evaluator(dataset="scenes", image_size=32, n=2000).score(images_uint8)

We say "FD", not "FID": on the built-in datasets the features come from small nets trained for
them (``scenes-v1``, ``digits-v1``), not Inception, so the numbers are comparable only with
the same net and N (both are in every ``Scores``). With ``inception=PATH`` it is FID.
Importing this package is numpy-only; torch loads when an Evaluator is built.
"""

from ganedge.metrics.evaluator import Evaluator, Scores
from ganedge.metrics.stats import frechet_distance, kid, precision_recall

__all__ = ["Evaluator", "Scores", "frechet_distance", "kid", "precision_recall"]
