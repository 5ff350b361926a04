"""A JSON document of findings, notifications and counts, for scripts."""

from __future__ import annotations

import json

from prodready import __version__


def _location(location) -> dict:
    return {"file": location.file, "line": location.line, "column": location.column}


def render(result) -> str:
    document = {
        "version": __version__,
        "findings": [
            {
                "rule": finding.rule.id,
                "name": finding.rule.name,
                "level": str(finding.level),
                "message": finding.message,
                **_location(finding.location),
                "related": [{**_location(r.location), "message": r.message} for r in finding.related],
                "fingerprint": finding.fingerprint,
                "suppression": (
                    {"kind": finding.suppression.kind, "justification": finding.suppression.justification}
                    if finding.suppression
                    else None
                ),
            }
            for finding in result.findings
        ],
        "notifications": [{"message": n.message, "file": n.file} for n in result.notifications],
        "summary": {"files": result.files, "resources": result.resources, "findings": len(result.findings)},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
