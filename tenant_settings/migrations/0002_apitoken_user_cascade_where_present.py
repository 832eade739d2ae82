# A platform user (public schema) can be deleted: the token table exists in tenant schemas only.

from django.conf import settings
from django.db import migrations, models

import core.deletion


class Migration(migrations.Migration):
    dependencies = [
        ("tenant_settings", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="apitoken",
            name="user",
            field=models.ForeignKey(
                help_text="Requests made with the token act as this user, with this user's roles.",
                on_delete=core.deletion.cascade_where_present,
                related_name="api_tokens",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
