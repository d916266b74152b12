"""Training tasks: each wraps a model so that ``task(batch) -> dict(loss, ...)`` works on raw
waveform batches (front-ends run inside, on the training device), and knows how to build its
datasets from a recipe config and export its inner model as a model directory.

Registered names (``model.kind`` in the YAML): ``asr``, ``mtass``, ``jrsv``.
"""
from jrsv.tasks.registry import TASKS, build_task

__all__ = ["TASKS", "build_task"]
