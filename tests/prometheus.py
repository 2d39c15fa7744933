"""Reading a Prometheus text page the way a scraper does, for tests of the metrics endpoints."""

from __future__ import annotations

import httpx


def scrape(url: str, timeout: float = 10.0) -> dict[str, float]:
    """The samples at ``url``: ``{'name{labels}': value}`` (comment lines left out)."""
    samples = {}
    for line in httpx.get(url, timeout=timeout).text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
