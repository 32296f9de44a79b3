"""The report for people: a PDF with the temperature chart as a picture.

fpdf2 writes the PDF (pure Python, tables that break across pages, no system libraries) and
matplotlib draws the chart with its Agg backend into a PNG; the DejaVu font that matplotlib
ships covers the report's text (°C, arrows). The document's dates are the report's end, so
the same report gives the same bytes.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")

import matplotlib.dates as mdates
from fpdf import FPDF
from fpdf.fonts import FontFace
from matplotlib.figure import Figure

from fleetedge.reports.model import Entry, Report

_FONT = Path(mpl.get_data_path()) / "fonts" / "ttf"
_PROBES = ("#2e7d32", "#8e24aa", "#00897b", "#6d4c41")
_SHADES = {
    "arrived late": "#9e9e9e",
    "backfilled": "#64b5f6",
    "missing": "#e53935",
    "not recorded": "#212121",
}


def _num(t: datetime) -> float:
    """matplotlib's date number: days since 1970-01-01 UTC."""
    return t.timestamp() / 86400


def chart(report: Report) -> bytes:
    """Supply and return air, the setpoint and the pulp probes, out-of-range periods shaded."""
    fig = Figure(figsize=(10, 4.2), dpi=110)
    ax = fig.subplots()
    times = [_num(p.start) for p in report.series]
    if times:
        ax.fill_between(
            times,
            [p.return_min_c for p in report.series],
            [p.return_max_c for p in report.series],
            step="post",
            color="#ffcc80",
            alpha=0.5,
            label="return air min-max",
        )
        ax.step(
            times,
            [p.return_mean_c for p in report.series],
            where="post",
            color="#ef6c00",
            lw=1,
            label="return air",
        )
        ax.step(
            times,
            [p.supply_mean_c for p in report.series],
            where="post",
            color="#1565c0",
            lw=1,
            label="supply air",
        )
        ax.step(
            times,
            [p.setpoint_c for p in report.series],
            where="post",
            color="black",
            lw=1,
            ls="--",
            label="setpoint",
        )
        probes = max(len(p.pulp_max_c) for p in report.series)
        for i in range(probes):
            values = [p.pulp_max_c[i] if i < len(p.pulp_max_c) else None for p in report.series]
            ax.step(
                times,
                [float("nan") if v is None else v for v in values],
                where="post",
                lw=0.8,
                color=_PROBES[i % len(_PROBES)],
                label=f"pulp probe {i + 1}",
            )
    shaded = False
    for e in report.events:
        if e.kind == "excursion" and e.end is not None:
            ax.axvspan(
                _num(e.start),
                _num(e.end),
                color="#e53935",
                alpha=0.18,
                label=None if shaded else "out of range",
            )
            shaded = True
    seen: set[str] = set()
    for g in report.gaps:
        if g.end is not None:
            ax.axvspan(
                _num(g.start),
                _num(g.end),
                ymin=0,
                ymax=0.04,
                color=_SHADES.get(g.kind, "grey"),
                label=None if g.kind in seen else f"gap: {g.kind}",
            )
            seen.add(g.kind)
    ax.set_ylabel("°C")
    ax.grid(alpha=0.3)
    ax.xaxis_date()
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.legend(loc="upper left", fontsize=7, ncols=4, framealpha=0.8)
    ax.set_title(f"{report.container_id}: temperatures (UTC)", fontsize=10)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _t(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=7)
        self.cell(0, 8, f"FleetEdge cold-chain report · page {self.page_no()}/{{nb}}", align="C")


def _table(pdf: FPDF, title: str, entries: list[Entry]) -> None:
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 8, f"{title} ({len(entries)})", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=7.5)
    if not entries:
        pdf.cell(0, 6, "none", new_x="LMARGIN", new_y="NEXT")
        return
    with pdf.table(
        col_widths=(26, 26, 26, 14, 95),
        text_align="LEFT",
        line_height=4,
        headings_style=FontFace(emphasis="BOLD"),
    ) as table:
        table.row(["what", "start (UTC)", "end (UTC)", "minutes", "detail"])
        for e in entries:
            minutes = "" if e.minutes is None else f"{e.minutes:g}"
            table.row([e.kind, _t(e.start), _t(e.end), minutes, e.detail])
    pdf.ln(3)


def to_pdf(report: Report) -> bytes:
    pdf = _Pdf(orientation="portrait", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(_FONT / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_FONT / "DejaVuSans-Bold.ttf"))
    pdf.set_creation_date(report.end)
    pdf.set_title(f"Cold-chain report {report.container_id}")
    pdf.set_author("FleetEdge")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(
        0, 9, f"Cold-chain report: container {report.container_id}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("DejaVu", size=9)
    tir = report.time_in_range
    lines = [
        f"Vessel {report.vessel_id} · cargo {report.cargo}",
        (
            f"From {_t(report.start)} to {_t(report.end)} UTC · {report.windows} windows · "
            f"{report.readings} readings"
        ),
        (
            f"Time in range: {tir.in_range_minutes:g} of {tir.recorded_minutes:g} recorded "
            f"minutes ({'n/a' if tir.percent_in_range is None else f'{tir.percent_in_range:g} %'});"
            f" out of range {tir.out_of_range_minutes:g} minutes"
        ),
    ]
    for line in lines:
        pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    v = report.verdict
    if v is not None:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(
            0, 7, f"Verdict against {v.schedule}: {v.status.upper()}", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font("DejaVu", size=8.5)
        text = [v.summary]
        if v.first_day:
            text.append(f"First qualifying day {v.first_day}, last {v.last_day}.")
        text += v.reasons
        text.append(f"Schedule: {v.pest}. Source: {v.source}.")
        for t in text:
            pdf.multi_cell(0, 4.5, t, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.image(io.BytesIO(chart(report)), w=pdf.epw)
    pdf.ln(2)
    _table(pdf, "Events", report.events)
    _table(pdf, "Gaps in the shore's record", report.gaps)
    return bytes(pdf.output())
