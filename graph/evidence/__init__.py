"""Evidence from the team's own files (DESIGN.md section 8): measure an eval or training
file, and say what it settles in the profile.

    result = measure_path("eval.csv")             # or measure_bytes(data, "eval.csv")
    result.contract()                             # the `advisor evidence check --json` object
    describe(result)                              # the terminal report
    found = profile_evidence(result)              # values, provenance, summary, risks, questions

Pure measuring and file reading: no Slack, no interview, no network, nothing executed.
"""

from graph.evidence.findings import (
    CLEAN_AT_MOST,
    UNCLEAN_ABOVE,
    ProfileEvidence,
    labels_clean,
    profile_evidence,
)
from graph.evidence.measure import measure_bytes, measure_path, measure_stream
from graph.evidence.personal import KINDS as PERSONAL_DATA_KINDS
from graph.evidence.reading import MAX_BYTES, WHAT_WORKS, EvidenceRefused, too_large
from graph.evidence.results import (
    EVIDENCE,
    EvalEvidence,
    Evidence,
    LabelScores,
    PersonalDataFound,
    RowProblem,
    TrainingEvidence,
    describe,
    weakest_labels,
)

__all__ = [
    "CLEAN_AT_MOST",
    "EVIDENCE",
    "MAX_BYTES",
    "PERSONAL_DATA_KINDS",
    "UNCLEAN_ABOVE",
    "WHAT_WORKS",
    "EvalEvidence",
    "Evidence",
    "EvidenceRefused",
    "LabelScores",
    "PersonalDataFound",
    "ProfileEvidence",
    "RowProblem",
    "TrainingEvidence",
    "describe",
    "labels_clean",
    "measure_bytes",
    "measure_path",
    "measure_stream",
    "profile_evidence",
    "too_large",
    "weakest_labels",
]
