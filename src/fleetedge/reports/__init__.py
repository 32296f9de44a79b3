"""Cold-chain compliance reports: a container's record from the read model, with its gaps.

``build`` makes a :class:`~fleetedge.reports.model.Report` (time in range, events, gaps with
their causes, a cold-treatment verdict); ``tabular`` and ``pdf`` write it as JSON, CSV or PDF.
"""

from fleetedge.reports.build import container_report, summary
from fleetedge.reports.model import Report, Summary
from fleetedge.reports.pdf import to_pdf
from fleetedge.reports.tabular import TABLES, to_csv, to_json

__all__ = [
    "TABLES",
    "Report",
    "Summary",
    "container_report",
    "summary",
    "to_csv",
    "to_json",
    "to_pdf",
]
