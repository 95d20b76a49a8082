import sys

from store_hub.cli import main

sys.exit(main())
