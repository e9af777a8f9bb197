"""``python -m instructor_tools.book``: see :mod:`instructor_tools.book`."""

from instructor_tools.book import main

raise SystemExit(main())
