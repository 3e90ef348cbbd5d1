"""The printed size of every figure: 12 x 7 in at 96 CSS px per inch (1152 x 672 px).

A module of its own, importing nothing, so the export layer can size a page without
importing the figure builder (and NumPy) before Chromium is started.
"""

PX_PER_INCH = 96
WIDTH_IN, HEIGHT_IN = 12, 7
WIDTH_PX, HEIGHT_PX = WIDTH_IN * PX_PER_INCH, HEIGHT_IN * PX_PER_INCH
