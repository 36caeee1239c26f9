"""The Grafana dashboard's queries and the metric names they read."""

from __future__ import annotations

import json
import re
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.deploy._manifests import K8S_DIR

DASHBOARD = K8S_DIR / "components" / "monitoring" / "ditto-streams-dashboard.json"
# Metrics a panel reads from another exporter, not the worker: the panel says so in its
# description. None today: the worker exports consumer lag under kafka_exporter's name.
EXPORTER_METRICS: dict[str, str] = {}
PROMQL_WORDS = {
    "sum", "avg", "min", "max", "count", "rate", "irate", "increase", "histogram_quantile",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "topk", "bottomk",
}  # fmt: skip
IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
    "summary": ("", "_sum", "_count", "_created"),
}


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    return found


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads: identifiers that are no function, keyword,
    label (inside {} or a grouping clause) or range."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", bare)
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", bare)
    names = set()
    for match in IDENTIFIER.finditer(bare):
        rest = bare[match.end() :].lstrip()
        if match.group() not in PROMQL_WORDS and not rest.startswith("("):
            names.add(match.group())
    return names


def queried_metrics() -> dict[str, str]:
    """metric name -> title of the first panel that reads it."""
    used: dict[str, str] = {}
    for panel in panels():
        for target in panel["targets"]:
            for name in metric_names(target["expr"]):
                used.setdefault(name, panel["title"])
    return used


def exposed_names(text: str) -> set[str]:
    """Every series name a Prometheus text exposition makes available, including those of
    families that have no sample yet (a labelled counter before its first increment)."""
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names
