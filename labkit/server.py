"""``python -m labkit.server``: a local moto server with the lab's clock (labkit.tools.server)."""

import sys

from labkit.tools.server import main

if __name__ == "__main__":
    sys.exit(main())
