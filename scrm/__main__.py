"""``python -m scrm``."""

import sys

from scrm.cli import main

sys.exit(main())
