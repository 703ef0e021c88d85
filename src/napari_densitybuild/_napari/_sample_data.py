"""npe2 sample data: a small simulated 2mFo-DFc map (MTZ, FWT/PHWT) with its protein model.

The files are ``sample_data/sample_map.mtz`` and ``sample_data/sample_model.cif`` (made by
``scripts/make_sample_data.py``); they ship inside the wheel and are found by
:mod:`napari_densitybuild._resources`.
"""

from __future__ import annotations

from .._resources import sample_file
from ._layers import LayerDataTuple
from ._reader import layers_from_files

SAMPLE_MAP = "sample_map.mtz"
SAMPLE_MODEL = "sample_model.cif"


def sample_paths() -> tuple[str, str]:
    """Paths of the sample map and model (raises DensityBuildError if they are missing)."""
    return str(sample_file(SAMPLE_MAP)), str(sample_file(SAMPLE_MODEL))


def make_sample_data() -> list[LayerDataTuple]:
    """The model's atoms and the sample map (iso-surface around the model), as layer tuples.

    Examples
    --------
    >>> [kind for _, _, kind in make_sample_data()]  # doctest: +SKIP
    ['points', 'image']
    """
    return layers_from_files(sample_paths())
