"""`python -m integration_hub.sandbox`: run the local fakes of API2Cart, ION/M3 and ShipStation."""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

from integration_hub.sandbox.core import serve


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m integration_hub.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    parser.add_argument("--state-dir", type=Path, default=Path("var/sandbox"))
    parser.add_argument("--hub-url", default="http://localhost:8000")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    serve(host=args.host, port=args.port, state_dir=args.state_dir, hub_url=args.hub_url)


if __name__ == "__main__":
    main()
