"""The webhook bench's yardstick: a separate minimal Django project with one insert view.

Its own settings (no apps, no middleware), its own database and its own gunicorn, configured
as the hub's (`deploy/gunicorn.conf.py`); see `bench/webhook_ingest.py`.
"""
