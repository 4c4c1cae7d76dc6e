"""What a loaded archive holds, as a report: ``newsbot index`` prints it (text, or one JSON object)."""

from __future__ import annotations

from typing import Any

from retrieval.models import Archive


def index_summary(archive: Archive) -> dict[str, Any]:
    """The ``newsbot index --json`` object.

    >>> index_summary(Archive("empty", ()))["issues"], index_summary(Archive("empty", ()))["entries"]
    (0, 0)
    """
    entries = archive.entries
    newsletter = archive.newsletter_issues
    return {
        "archive": archive.root,
        "issues": len(newsletter),
        "documents": len(archive.issues) - len(newsletter),
        "entries": len(entries),
        "features": sum(e.feature for e in entries),
        "with_url": sum(e.url is not None for e in entries),
        "repaired": len(archive.repairs),
        "repairs": [
            {"path": r.path, "codepage": r.codepage, "damaged": r.damaged, "filled": r.filled,
             "uncertain": r.uncertain}
            for r in archive.repairs
        ],
        "duplicates": [{"path": d.path, "reason": d.reason} for d in archive.duplicates],
        "skipped": [{"path": s.path, "reason": s.reason} for s in archive.skipped],
    }


def format_summary(archive: Archive, seconds: float) -> str:
    """``newsbot index`` as text: the counts, then each repaired, duplicate and skipped file.

    >>> print(format_summary(Archive("empty", ()), 0.5))
    archive:    empty
    issues:     0 newsletter issues, 0 other documents
    entries:    0 (0 features, n/a with a link)
    repaired:   0 documents
    duplicates: 0 files
    skipped:    0 files
    loaded in 0.50 s
    """
    summary = index_summary(archive)
    entries, with_url = int(summary["entries"]), int(summary["with_url"])
    share = f"{100 * with_url / entries:.1f} %" if entries else "n/a"
    lines = [
        f"archive:    {archive.root}",
        f"issues:     {summary['issues']} newsletter issues, {summary['documents']} other documents",
        f"entries:    {entries} ({summary['features']} features, {share} with a link)",
        f"repaired:   {summary['repaired']} documents",
    ]
    lines += [
        f"            {r.path}: {r.codepage}, {r.damaged} damaged, {r.filled} filled, {r.uncertain} uncertain"
        for r in archive.repairs
    ]
    lines.append(f"duplicates: {len(archive.duplicates)} files")
    lines += [f"            {d.path}: {d.reason}" for d in archive.duplicates]
    lines.append(f"skipped:    {len(archive.skipped)} files")
    lines += [f"            {s.path}: {s.reason}" for s in archive.skipped]
    lines.append(f"loaded in {seconds:.2f} s")
    return "\n".join(lines)
