"""The ``pathways`` command: its commands, options, terminal tables and ``calibrate``.

The top floor: a thin layer over the public functions of the layers below, and the
only place that imports the calibration command.
"""
