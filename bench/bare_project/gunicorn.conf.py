"""The hub's gunicorn settings (`deploy/gunicorn.conf.py`: workers, threads, keep-alive,
backlog, recycling, preloading), serving the bare project instead of the hub.

The hub's hooks are left out: they prove the hub's database session and mark the hub's
readiness, which the bare project has none of.
"""

import os
from pathlib import Path

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bare_project.settings"
exec(compile(Path("deploy/gunicorn.conf.py").read_text(), "deploy/gunicorn.conf.py", "exec"))
wsgi_app = "bench.bare_project.wsgi:application"
del on_starting, post_worker_init, worker_int  # noqa: F821
