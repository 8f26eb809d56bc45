"""``python -m mcpwall``: the same as the ``mcpwall`` command."""

import sys

from .cli import main

sys.exit(main())
