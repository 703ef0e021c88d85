"""The napari plugin: thin npe2 contributions over the Qt-free core.

``_layers`` turns core objects into layer-data tuples (no Qt); ``_reader``, ``_writer`` and
``_sample_data`` are the npe2 reader, writer and sample-data functions built on it; ``_widgets``
holds the dock widgets (Qt through qtpy only). The manifest is ``napari_densitybuild/napari.yaml``.
"""
