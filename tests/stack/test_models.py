"""The stack serves the WoT thing models at the URL every twin's definition names."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from streams.config import Settings, get_settings
from streams.errors import StackError
from streams.stack import models, orchestrator

pytestmark = pytest.mark.stack

SCHEMAS = Path(__file__).resolve().parent.parent.parent / "schemas"


@pytest.fixture(scope="module")
def settings() -> Settings:
    settings = get_settings()
    orchestrator.up(settings, only=("models",))
    return settings


def test_every_model_file_is_served_as_json_ld(settings: Settings) -> None:
    files = sorted(SCHEMAS.glob("*.tm.jsonld"))
    assert files
    for file in files:
        response = httpx.get(f"{settings.thing_models_url}/{file.name}", timeout=5)
        assert response.status_code == 200, file.name
        assert response.headers["content-type"] == "application/ld+json"
        assert response.json() == json.loads(file.read_text(encoding="utf-8"))


def test_a_missing_model_is_404(settings: Settings) -> None:
    response = httpx.get(f"{settings.thing_models_url}/nope-1.0.0.tm.jsonld", timeout=5)
    assert response.status_code == 404


def test_a_models_url_without_a_path_is_refused() -> None:
    with pytest.raises(StackError, match="needs a path"):
        models.up(Settings.model_validate({"thing_models_url": "http://127.0.0.1:1"}))
