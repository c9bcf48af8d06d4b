"""The kick's takeover of a campaign's outbox build that lost a chunk with a dead ``sms`` node.

A build chunk's task is acknowledged only when it ends (``acks_late``), so a node killed in the
middle of one leaves its message with the broker, which gives it back only after its visibility
timeout (hours). Meanwhile the campaign stays «building». The credit runs' pattern
(``settlements.services.runs.resume_stalled_runs``), for campaigns: docs/decisions.md, "Several
nodes".
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from notifications.models import CampaignStatus, SmsBuildChunk, SmsCampaign
from notifications.services.campaigns import queue_unbuilt_chunks

logger = logging.getLogger(__name__)


def resume_stalled_builds(
    *,
    quiet_for: dt.timedelta,
    enqueue: Callable[[SmsCampaign, list[int]], None] | None = None,
) -> list[int]:
    """Queue again the unbuilt chunks of every campaign whose build went quiet; returns their ids.

    A campaign is taken as stalled when it is still building, its last sign of life
    (``progress_at``: chunks queued, or one built) is older than ``quiet_for``, **and** no build
    chunk of any campaign finished in that time: the ``sms`` nodes are not building, so a chunk
    still undone is nobody's (while they are, it may be waiting in the queue behind their work).
    Its ``progress_at`` restarts the clock, so with no live node to take it a campaign is queued
    again once per ``quiet_for``, not every kick. A chunk queued twice is harmless: the second
    finds it done, or waits on its row lock and then finds it done. ``quiet_for`` must exceed
    the longest build chunk (``RUN_STALL_SECONDS``). ``enqueue`` as for ``start_decile_notices``
    (default: the Celery tasks)."""
    cutoff = timezone.now() - quiet_for
    if SmsBuildChunk.objects.filter(finished_at__gte=cutoff).exists():
        return []  # an sms node is building: a campaign behind it in the queue is waiting, not lost
    quiet = (
        SmsCampaign.objects.filter(status=CampaignStatus.BUILDING, created_at__lt=cutoff)
        .exclude(progress_at__gte=cutoff)
        .order_by("pk")
    )
    resumed = []
    for campaign_id in list(quiet.values_list("pk", flat=True)):
        with transaction.atomic():
            # Under its row lock, checked again: cancelled, or resumed by an officer, meanwhile.
            campaign = quiet.select_for_update().filter(pk=campaign_id).first()
            if campaign is None:
                continue
            chunks = queue_unbuilt_chunks(campaign=campaign, enqueue=enqueue)
        logger.warning(
            "campaign %s was quiet for %s while building; its %s unbuilt chunks are queued again",
            campaign_id,
            quiet_for,
            len(chunks),
        )
        resumed.append(campaign_id)
    return resumed
