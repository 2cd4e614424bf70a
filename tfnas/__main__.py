"""`python -m tfnas`: the `tfnas` console script."""

import sys

from tfnas.app.cli import main

sys.exit(main())
