"""`python -m beacon_agent`: the same as the beacon-agent console script."""

import sys

from beacon_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
