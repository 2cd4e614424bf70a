"""`python -m tfnas`: the `tfnas` console script."""

import sys

from tfnas.cli import main

sys.exit(main())
