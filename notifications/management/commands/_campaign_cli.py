"""Shared output of the campaign commands."""

import time

from django.core.management.base import BaseCommand

from notifications.models import CampaignStatus, SmsCampaign


def report(command: BaseCommand, campaign: SmsCampaign, *, wait: bool, started: float) -> None:
    campaign.refresh_from_db()
    while wait and campaign.status in (CampaignStatus.BUILDING, CampaignStatus.SENDING):
        time.sleep(2)
        campaign.refresh_from_db()
        command.stderr.write(
            f"  {campaign.get_status_display()}: {campaign.chunks_done}/{campaign.chunks_total} chunks, "
            f"{campaign.recipients_total:,} recipients, {campaign.counts}"
        )
    command.stdout.write(
        f"campaign {campaign.pk} ({campaign.status}): {campaign.label}, "
        f"{campaign.chunks_done}/{campaign.chunks_total} chunks built, "
        f"{campaign.recipients_total:,} recipients queued, by status {campaign.counts or {}}, "
        f"in {time.monotonic() - started:.1f} s"
    )
