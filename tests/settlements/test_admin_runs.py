"""The officer admin of credit runs: progress watched, an unfinished run resumed."""

import pytest
from django.urls import reverse

from settlements.models import CreditRun, RunChunk, RunKind, RunStatus
from settlements.services import rules, runs
from tests.households.factories import make_household
from tests.settlements.factories import admin_action, admin_messages, charge, seeded_phases

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager_setting")]


def _half_done_run() -> CreditRun:
    """A charge run of three chunks of which only the first was done (a worker died)."""
    seeded_phases()
    for _ in range(3):
        make_household(decile=1)
    cycle = rules.ensure_cycle(key="1402-06")
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=1)
    runs.execute_chunk(chunk_id=run.chunks.order_by("index").first().pk)
    run.refresh_from_db()
    return run


def test_the_run_list_shows_progress_as_a_bar_and_words(admin_client):
    run = _half_done_run()

    content = admin_client.get(reverse("admin:settlements_creditrun_changelist")).content.decode()

    assert '<progress value="1" max="3"' in content
    assert "۱ از ۳ بخش — ۳۳٪" in content
    assert "۲٬۰۰۰٬۰۰۰ ریال" in content
    assert run.get_status_display() in content


def test_a_running_run_page_refreshes_itself_and_lists_unfinished_chunks(admin_client):
    run = _half_done_run()
    RunChunk.objects.filter(run=run, index=2).update(attempts=3, last_error="deadlock detected")

    response = admin_client.get(reverse("admin:settlements_creditrun_change", args=[run.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<meta http-equiv="refresh" content="5">' in content
    assert "deadlock detected" in content
    chunks = response.context["inline_admin_formsets"][0].formset.queryset
    assert sorted(chunk.index for chunk in chunks) == [1, 2]


def test_the_resume_action_finishes_an_unfinished_run(admin_client):
    run = _half_done_run()

    response = admin_action(
        admin_client,
        "admin:settlements_creditrun_changelist",
        "resume_run",
        [run.pk],
        confirm="yes",
        reason="کارگر از کار افتاده بود",
    )

    assert response["Location"] == reverse("admin:settlements_creditrun_change", args=[run.pk])
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.entries_created) == (RunStatus.COMPLETED, 3, 3)
    assert CreditRun.objects.count() == 1


def test_a_completed_run_is_not_resumed(admin_client):
    make_household(decile=1)
    charge("1402-06")
    run = CreditRun.objects.get()

    response = admin_action(
        admin_client,
        "admin:settlements_creditrun_changelist",
        "resume_run",
        [run.pk],
        confirm="yes",
        reason="دوباره",
    )

    assert "پایان یافته" in " ".join(admin_messages(response))
    assert CreditRun.objects.count() == 1
