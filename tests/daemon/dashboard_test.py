#!/usr/bin/python3
"""The Grafana dashboard (config/grafana/skynetd.json) asks only for metrics skynetd exports.

    dashboard_test.py SOURCE_DIR

Every skynet_* / process_* name in a panel's expression, without the _bucket/_sum/_count
suffixes of histograms, must be a family daemon/metrics_report.cc writes, and every family the
operations guide lists must exist there too (docs/operations.md, "Metrics").
"""
import json
import re
import sys


def main():
    src = sys.argv[1]
    emitted = set(re.findall(r'"((?:skynet|process)_[a-z0-9_]+)"',
                             open(f"{src}/daemon/metrics_report.cc").read()))
    dashboard = json.load(open(f"{src}/config/grafana/skynetd.json"))
    problems = []
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"\b((?:skynet|process)_[a-z0-9_]+)", target["expr"]):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if name not in emitted and base not in emitted:
                    problems.append(f"panel {panel['title']!r}: {name} is not exported")
    doc = open(f"{src}/docs/operations.md").read()
    section = doc[doc.index("## Metrics"):doc.index("### Alerts to set")]
    for row in re.findall(r"^\| `(.*?)\|", section, re.M):
        first = re.findall(r"`((?:skynet|process)_[a-z0-9_]+)`", "`" + row)
        for name in first[:1]:
            if name not in emitted:
                problems.append(f"docs/operations.md lists {name}, which is not exported")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
