"""The schema registry edge: writer schemas by id over HTTP, cached, errors translated."""

from __future__ import annotations

from streams.registry.client import RegistryClient

__all__ = ["RegistryClient"]
