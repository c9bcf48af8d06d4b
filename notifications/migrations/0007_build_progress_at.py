"""An outbox build's last sign of life (``SmsCampaign.progress_at``) and when each chunk was built
(``SmsBuildChunk.finished_at``): the every-minute ``sms_kick`` queues again the chunks of a build
that lost one with a dead sms node (``notifications.services.stalls``, docs/operations.md).
A campaign building at the time of this migration has no ``progress_at``: it counts as quiet
since it was created."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0006_personal_decile_notice_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='smsbuildchunk',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='پایان'),
        ),
        migrations.AddField(
            model_name='smscampaign',
            name='progress_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='آخرین پیشرفت'),
        ),
    ]
