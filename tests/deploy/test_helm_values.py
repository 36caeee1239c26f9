"""The Helm values for Eclipse Ditto name only keys the chart (3.6.9) has, put the API on
NodePort 30080, and keep every production credential in a Secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.config import PROJECT_ROOT

HELM_DIR = PROJECT_ROOT / "deploy" / "ditto" / "helm"
CHART_VALUES = Path(__file__).parent / "charts" / "ditto-3.6.9-values.yaml"
VALUE_FILES = ("values-k3s.yaml", "values-dev.yaml", "values-prod.yaml")
# Keys the chart reads but only mentions in a comment of its values.yaml (the nginx-service
# template reads nodePort), and the sub-chart of Bitnami's MongoDB, whose values are its own.
CHART_READS = {("nginx", "service", "nodePort"), ("dbconfig", "uriSecret")}
SUBCHARTS = {"mongodb"}


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((HELM_DIR / name).read_text())
    return loaded


def _paths(tree: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if not isinstance(tree, dict) or not tree:
        return {prefix}
    return {p for key, value in tree.items() for p in _paths(value, (*prefix, key))}


def _known(path: tuple[str, ...], chart: dict[str, Any]) -> bool:
    node: Any = chart
    for depth, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            return path[: depth + 1] in CHART_READS
        if node[key] is None or node[key] == [] or node[key] == {}:
            return True  # the chart leaves it open (a list or map the user fills in)
        node = node[key]
    return True


@pytest.mark.parametrize("name", VALUE_FILES)
def test_every_key_exists_in_the_chart(name: str) -> None:
    chart = yaml.safe_load(CHART_VALUES.read_text())
    for path in _paths(_load(name)):
        if path[0] in SUBCHARTS:
            continue
        assert _known(path, chart), f"{name}: {'.'.join(path)} is not a value of chart 3.6.9"


def test_the_api_is_on_nodeport_30080_with_the_services_we_need() -> None:
    values = _load("values-k3s.yaml")
    assert values["nginx"]["service"] == {"type": "NodePort", "port": 8080, "nodePort": 30080}
    for service in ("policies", "things", "connectivity", "gateway"):
        assert values[service]["enabled"] is True
    running = sum(values[s]["replicaCount"] for s in ("policies", "things", "connectivity"))
    assert values["global"]["cluster"]["requiredContactPoints"] <= running + 1
    assert values["thingsSearch"]["enabled"] is False


def test_dev_uses_the_plans_user_and_prod_no_password_at_all() -> None:
    dev, prod = _load("values-dev.yaml"), _load("values-prod.yaml")
    assert dev["global"]["basicAuthUsers"] == [{"user": "ditto", "password": "ditto"}]
    assert "basicAuthUsers" not in prod["global"] and prod["global"]["existingSecret"]
    devops = prod["gateway"]["config"]["authentication"]["devops"]
    assert set(devops) == {"existingSecret"}
    assert prod["mongodb"]["auth"]["enabled"] is True
    assert prod["mongodb"]["auth"]["existingSecret"] and prod["dbconfig"]["uriSecret"]
    text = (HELM_DIR / "values-prod.yaml").read_text()
    assert "password:" not in text.lower().replace("# ", "")


def test_mongodb_is_sized() -> None:
    for name in ("values-k3s.yaml", "values-prod.yaml"):
        resources = _load(name)["mongodb"]["resources"]
        assert resources["requests"]["memory"] and resources["limits"]["memory"]
