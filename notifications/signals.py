"""Work of the SMS outbox that is ready for the Celery workers, announced after commit.

Services never import their app's tasks (an import contract in ``.importlinter``): a service
that has made work for the workers sends ``sms_work_ready`` once its transaction commits, and
the receiver in ``notifications.hooks`` (connected in ``NotificationsConfig.ready``) queues the
matching tasks. Keyword arguments, each a list of ids (empty when there is none of that kind):

- ``build_chunk_ids``: campaign build chunks to build;
- ``campaign_ids``: campaigns whose messages are ready to dispatch;
- ``message_ids``: personal messages to send.
"""

from collections.abc import Sequence

from django.db import transaction
from django.dispatch import Signal

sms_work_ready = Signal()


def announce_on_commit(
    *,
    build_chunk_ids: Sequence[int] = (),
    campaign_ids: Sequence[int] = (),
    message_ids: Sequence[int] = (),
) -> None:
    """Send ``sms_work_ready`` with these ids after the current transaction commits (at once
    outside a transaction)."""
    kwargs = {
        "build_chunk_ids": list(build_chunk_ids),
        "campaign_ids": list(campaign_ids),
        "message_ids": list(message_ids),
    }
    transaction.on_commit(lambda: sms_work_ready.send(sender=None, **kwargs))
