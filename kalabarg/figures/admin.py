"""The refreshes of the programme's figures, read-only (written only by the refresh task), with a
link to the programme dashboard; the dashboard itself is ``views.programme``."""

from django.contrib import admin

from kalabarg.figures.models import FiguresRefresh
from kalabarg.figures.pages import trigger_label
from kalabarg.lib import admin_display as show
from kalabarg.lib.admin_paging import CappedCountPaginator
from kalabarg.lib.admin_readonly import ReadOnlyAdminMixin
from kalabarg.lib.persian import to_persian_digits


@admin.register(FiguresRefresh)
class FiguresRefreshAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """When the figures were refreshed, why, how long it took and for which cycles; a failed
    refresh keeps its error. The list links to the dashboard (``change_list.html``)."""

    actions = None
    empty_value_display = "—"
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    list_display = [
        "started_at_display",
        "trigger_display",
        "status",
        "seconds_display",
        "cycles_display",
    ]
    list_filter = ["status"]
    fields = readonly_fields = (
        "trigger_display",
        "status",
        "started_at_display",
        "finished_at_display",
        "seconds_display",
        "cycles_display",
        "error",
    )

    @admin.display(description="علت")
    def trigger_display(self, obj: FiguresRefresh) -> str:
        return trigger_label(obj.trigger)

    @admin.display(description="آغاز", ordering="started_at")
    def started_at_display(self, obj: FiguresRefresh) -> str:
        return show.when(obj.started_at)

    @admin.display(description="پایان")
    def finished_at_display(self, obj: FiguresRefresh) -> str:
        return show.when(obj.finished_at)

    @admin.display(description="مدت (ثانیه)")
    def seconds_display(self, obj: FiguresRefresh) -> str:
        return "—" if obj.seconds is None else to_persian_digits(f"{obj.seconds:.1f}")

    @admin.display(description="دوره‌ها")
    def cycles_display(self, obj: FiguresRefresh) -> str:
        return to_persian_digits("، ".join(obj.cycles)) or "—"
