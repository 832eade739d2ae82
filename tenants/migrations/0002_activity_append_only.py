from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION hub_activity_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'tenants_activityevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER activity_append_only
    BEFORE UPDATE OR DELETE ON tenants_activityevent
    FOR EACH ROW EXECUTE FUNCTION hub_activity_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS activity_append_only ON tenants_activityevent;
DROP FUNCTION IF EXISTS hub_activity_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunSQL(APPEND_ONLY, DROP)]
