"""Entry point for `python -m argo_proxy` and for the zipapp."""

import sys

from argo_proxy.cli import main

if __name__ == "__main__":
    sys.exit(main())
