"""A worker's parsed plan versions: an approved version never changes, so its document is
fetched and parsed once per worker (:func:`triage.storage.repositories.active_plans`)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from triage.domain.plan import PlanVersion
from triage.ingest.cache_capacity import Capacity

#: How many plan versions a worker keeps parsed at least (an approved version never changes):
#: ~100 MiB. The cache grows with the population (:mod:`triage.ingest.cache_capacity`).
PLAN_CACHE_SIZE = 5000


class PlanCache(OrderedDict[tuple[str, int], PlanVersion]):
    """Parsed plan versions by (plan id, version), the least recently used dropped beyond
    ``maxsize`` (a parsed template plan takes ~20 KiB). ``maxsize`` follows the population
    and grows on eviction pressure (:class:`~triage.ingest.cache_capacity.Capacity`)."""

    def __init__(self, maxsize: int = PLAN_CACHE_SIZE) -> None:
        super().__init__()
        self.capacity = Capacity("plans", maxsize)
        self._used: dict[tuple[str, int], int] = {}

    @property
    def maxsize(self) -> int:
        return self.capacity.size

    @maxsize.setter
    def maxsize(self, value: int) -> None:
        self.capacity.size = value

    def get(self, key: tuple[str, int], default: Any = None) -> Any:
        if key in self:
            self.move_to_end(key)
            self._used[key] = self.capacity.batch
            return super().__getitem__(key)
        return default

    def __setitem__(self, key: tuple[str, int], value: PlanVersion) -> None:
        super().__setitem__(key, value)
        self._used[key] = self.capacity.batch
        while len(self) > self.capacity.size:
            old, _ = self.popitem(last=False)
            self.capacity.evicting(self._used.pop(old, 0))
