"""The WoT thing models under schemas/, ready to serve under a configured base URL.

Ditto resolves `tm:submodel` links with `new URL(href)`, so they must be absolute. The
files carry the default of Settings.thing_models_url; a deployment that serves them
elsewhere gets each link rewritten here, the rest of the file byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streams.errors import ConfigError

SCHEMAS_DIR = Path(__file__).resolve().parent.parent.parent / "schemas"
SUFFIX = ".tm.jsonld"


def load_thing_model(name: str, folder: Path = SCHEMAS_DIR) -> dict[str, Any]:
    """One thing model as JSON."""
    path = folder / name
    try:
        model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the thing model: {exc}") from exc
    return model


def _rebased(text: str, model: dict[str, Any], base_url: str) -> str:
    for link in model.get("links", ()):
        href = str(link.get("href", ""))
        if "/" in href:
            text = text.replace(f'"{href}"', f'"{base_url}/{href.rsplit("/", 1)[1]}"')
    return text


def thing_models(base_url: str, folder: Path = SCHEMAS_DIR) -> dict[str, bytes]:
    """File name -> thing model text whose submodel links point under `base_url`."""
    files = sorted(folder.glob(f"*{SUFFIX}"))
    if not files:
        raise ConfigError(f"{folder}: no thing models (*{SUFFIX}) found")
    base = base_url.rstrip("/")
    served = {}
    for file in files:
        text = file.read_text(encoding="utf-8")
        served[file.name] = _rebased(text, load_thing_model(file.name, folder), base).encode()
    return served


__all__ = ["SCHEMAS_DIR", "SUFFIX", "load_thing_model", "thing_models"]
