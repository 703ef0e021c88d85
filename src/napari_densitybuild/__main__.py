"""``python -m napari_densitybuild``: the ``densitybuild`` command line."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
