"""`python -m sandbox serve|place-orders|status|...`: the sandbox's command line (`cli.py`)."""

import sys

from sandbox.cli import main

if __name__ == "__main__":
    sys.exit(main())
