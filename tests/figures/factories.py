"""Test data for the programme's figures: cycles, summary rows written directly with known values
(for the pages' tests), completed refreshes, and officers in a role."""

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from households.models import Province
from kalabarg.figures.models import (
    CycleFigure,
    FiguresRefresh,
    RefreshStatus,
    StoreFigure,
    TopStore,
)
from settlements.models import Cycle, CycleStatus
from settlements.services import rules
from stores.models import Store
from tests.settlements.factories import seeded_phases


def a_cycle(key: str = "1402-06", *, status: str = CycleStatus.CLOSED) -> Cycle:
    """A cycle of the seeded phases (deciles 1–5 covered from 1402-06) in ``status``."""
    seeded_phases()
    cycle = rules.ensure_cycle(key=key)
    Cycle.objects.filter(pk=cycle.pk).update(status=status)
    cycle.refresh_from_db()
    return cycle


def province(name: str) -> Province:
    return Province.objects.get(name=name)


def figure(
    cycle: Cycle,
    *,
    province_name: str = "تهران",
    decile: int = 3,
    covered: bool = True,
    **values: int,
) -> CycleFigure:
    """One summary row with the given figures (every other figure 0)."""
    return CycleFigure.objects.create(
        cycle=cycle, province=province(province_name), decile=decile, covered=covered, **values
    )


def store_figure(cycle: Cycle, *, province_name: str = "تهران", **values: int) -> StoreFigure:
    return StoreFigure.objects.create(cycle=cycle, province=province(province_name), **values)


def top_store(cycle: Cycle, *, rank: int, store: Store, **values: int) -> TopStore:
    return TopStore.objects.create(cycle=cycle, rank=rank, store=store, **values)


def completed_refresh(
    *, at: dt.datetime | None = None, trigger: str = "beat", cycles: list[str] | None = None
) -> FiguresRefresh:
    """A refresh record as ``refresh_figures`` leaves it (the rows themselves are the test's)."""
    at = at or timezone.now()
    return FiguresRefresh.objects.create(
        trigger=trigger,
        status=RefreshStatus.COMPLETED,
        cycles=cycles or [],
        started_at=at - dt.timedelta(seconds=3),
        finished_at=at,
    )


def officer_in(role: str, *, username: str | None = None) -> Any:
    """A staff user in the group of ``role`` alone."""
    user = get_user_model().objects.create_user(username or f"officer-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user
