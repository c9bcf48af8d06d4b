"""Run the local fake SMS gateway (Kavenegar-style) until interrupted."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from devdata.fake_sms_gateway import FakeGateway


class Command(BaseCommand):
    help = "A local fake SMS gateway with injectable latency, 5xx, timeouts and invalid numbers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9999)
        parser.add_argument("--latency-ms", type=int, default=0)
        parser.add_argument(
            "--fail-rate", type=float, default=0.0, help="share of calls answered 500"
        )
        parser.add_argument(
            "--timeout-rate", type=float, default=0.0, help="share of calls left hanging"
        )
        parser.add_argument("--invalid-prefix", default="", help="numbers refused as invalid (411)")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        fake = FakeGateway(
            host=options["host"],
            port=options["port"],
            latency_ms=options["latency_ms"],
            fail_rate=options["fail_rate"],
            timeout_rate=options["timeout_rate"],
            invalid_prefix=options["invalid_prefix"],
            seed=options["seed"],
        )
        self.stdout.write(
            f"fake SMS gateway on {fake.url} — set SMS_BACKEND=http SMS_HTTP_URL={fake.url}"
        )
        try:
            fake.server.serve_forever()
        except KeyboardInterrupt:  # Ctrl-C is how this command is meant to stop
            self.stdout.write("fake SMS gateway stopped")
        finally:
            fake.server.server_close()
