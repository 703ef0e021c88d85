"""Sub-commands of the ``densitybuild`` command line (see :mod:`napari_densitybuild.cli`)."""
