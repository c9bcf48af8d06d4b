"""``manage.py generate_households``: a synthetic population for demos and benchmarks."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devdata.households import ChunkProgress, generate_households
from devdata.population import GenerationError


class Command(BaseCommand):
    help = (
        "Generate N synthetic households (members, deciles, bank cards) for a seed. "
        "Deterministic per seed; re-running skips the households the seed already created."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--households", type=int, required=True, help="how many households")
        parser.add_argument("--seed", type=int, required=True, help="random seed (0 or more)")
        parser.add_argument(
            "--chunk-size", type=int, default=50_000, help="households per transaction"
        )
        parser.add_argument(
            "--writers",
            type=int,
            default=None,
            help="parallel writer connections (default: 2 on PostgreSQL, 1 on SQLite)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(step: ChunkProgress) -> None:
            skipped = (
                f", {step.households_skipped:,} already there" if step.households_skipped else ""
            )
            self.stdout.write(
                f"chunk {step.chunk}/{step.chunks}: {step.households_done:,}"
                f"/{step.households_total:,} households "
                f"(+{step.households_written:,} households, +{step.persons_written:,} persons, "
                f"+{step.cards_written:,} cards{skipped}) {step.elapsed_seconds:.1f}s"
            )

        try:
            result = generate_households(
                households=options["households"],
                seed=options["seed"],
                chunk_size=options["chunk_size"],
                writers=options["writers"],
                progress=progress,
            )
        except (GenerationError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if result.households_skipped:
            self.stdout.write(
                self.style.WARNING(
                    f"{result.households_skipped:,} households of seed {result.seed} already "
                    "existed and were left as they are."
                )
            )
        rate = result.households / result.elapsed_seconds if result.elapsed_seconds else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {result.households:,} households, {result.persons:,} persons, "
                f"{result.deciles:,} deciles, {result.cards:,} cards in "
                f"{result.elapsed_seconds:.1f}s ({rate:,.0f} households/s, seed {result.seed})"
            )
        )
