"""Render the kustomize trees and validate what they produce, offline.

Built-in kinds are checked against the Kubernetes OpenAPI schemas that the PyPI package
kubernetes-validate ships; custom resources against the openAPIV3Schema of their CRD,
vendored under crds/ (see PROVENANCE.md). Both are strict: a field the schema does not
name fails, as `kubectl apply --validate=strict` would.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from streams.config import PROJECT_ROOT

K8S_DIR = PROJECT_ROOT / "deploy" / "k8s"
CRD_DIR = Path(__file__).parent / "crds"
KUSTOMIZE = PROJECT_ROOT / ".venv" / "bin" / "kustomize"
# The oldest Kubernetes a current K3s channel runs, and the newest schema the package has.
KUBERNETES_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
TREES = ("overlays/dev", "overlays/prod", "connect")

Doc = dict[str, Any]


def kustomize() -> Path:
    """The project-local kustomize that scripts/setup.sh installs; a missing one fails."""
    if KUSTOMIZE.is_file():
        return KUSTOMIZE
    on_path = shutil.which("kustomize")
    raise AssertionError(
        f"kustomize not found at {KUSTOMIZE} (on PATH: {on_path or 'none'}); "
        "fix: bash scripts/setup.sh (it installs sigs.k8s.io/kustomize/kustomize/v5 there)"
    )


@cache
def render(tree: str) -> tuple[Doc, ...]:
    """`kustomize build deploy/k8s/<tree>`, parsed; a failed build fails with its message."""
    done = subprocess.run(
        [str(kustomize()), "build", str(K8S_DIR / tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"kustomize build {tree} failed:\n{done.stderr}"
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def named(docs: tuple[Doc, ...], kind: str, name: str | None = None) -> list[Doc]:
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


@cache
def crd_schemas() -> dict[tuple[str, str], Doc]:
    """(apiVersion, kind) -> the CRD's openAPIV3Schema made strict, for every vendored CRD."""
    schemas = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version["served"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def strict(schema: Any) -> Any:
    """OpenAPI v3 as the API server reads it, in JSON-schema terms: unknown fields of a
    structural object are refused (the server would prune them silently), int-or-string
    means either, nullable allows null."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def validate(doc: Doc) -> None:
    """Raise with the schema's message when `doc` does not fit its kind's schema."""
    key = (doc["apiVersion"], doc["kind"])
    custom = crd_schemas().get(key)
    if custom is not None:
        jsonschema.Draft4Validator(custom).validate(doc)
        return
    group = doc["apiVersion"].rpartition("/")[0]
    builtin = "." not in group or group.endswith(".k8s.io")
    assert builtin, f"{key}: a custom resource without a vendored CRD under {CRD_DIR}"
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)
