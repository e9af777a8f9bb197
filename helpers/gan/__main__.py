"""``python -m helpers.gan``: see :mod:`helpers.gan.cli`."""

import sys

from .cli import main

sys.exit(main())
