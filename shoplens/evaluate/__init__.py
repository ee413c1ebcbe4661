"""Offline evaluation: trec_eval-exact metrics, judgments (files, catalog attributes, clicks), reports."""

from .metrics import DEFAULT_METRICS, Evaluation, evaluate
from .trec import EvalFileError, Qrels, Run, read_qrels, read_run, write_qrels, write_run

__all__ = [
    "DEFAULT_METRICS",
    "Evaluation",
    "evaluate",
    "EvalFileError",
    "Qrels",
    "Run",
    "read_qrels",
    "read_run",
    "write_qrels",
    "write_run",
]
