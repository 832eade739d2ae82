"""Re-encrypting every stored credential with the primary key of HUB_ENCRYPTION_KEYS."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django_tenants.utils import get_public_schema_name, schema_context

from core.fields import EncryptedTextField
from tenants.models import Tenant


def encrypted_models(app_labels: list[str]) -> list[tuple[type[models.Model], list[str]]]:
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in app_labels:
            continue
        fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


def _app_labels(app_paths: list[str]) -> list[str]:
    return [config.label for config in apps.get_app_configs() if config.name in app_paths]


def _reencrypt_rows(model: type[models.Model], fields: list[str]) -> int:
    """Loading decrypts with any known key; saving encrypts with the primary one."""
    count = 0
    with transaction.atomic():
        for row in model.objects.select_for_update().iterator():
            row.save(update_fields=fields)
            count += 1
    return count


def rotate_encryption_keys() -> dict[str, int]:
    """Returns rows re-encrypted per schema; safe to run again."""
    shared_only = [a for a in settings.SHARED_APPS if a not in settings.TENANT_APPS]
    done = {"public": 0}
    with schema_context("public"):
        for model, fields in encrypted_models(_app_labels(shared_only)):
            done["public"] += _reencrypt_rows(model, fields)
    tenant_models = encrypted_models(_app_labels(settings.TENANT_APPS))
    for tenant in Tenant.objects.exclude(schema_name=get_public_schema_name()):
        with schema_context(tenant.schema_name):
            done[tenant.schema_name] = sum(_reencrypt_rows(m, f) for m, f in tenant_models)
    return done
