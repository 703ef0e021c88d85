"""Exceptions with messages meant for the user (a napari notification or a one-line CLI error)."""


class DensityBuildError(ValueError):
    """Base class: bad input that the user can fix; the message says what and where."""


class MapReadError(DensityBuildError):
    """A density map could not be read or is not usable (corrupt, wrong columns, NaN, flat...)."""


class ModelReadError(DensityBuildError):
    """A model file could not be read or holds no atoms."""
