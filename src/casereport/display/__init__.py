"""Display for the notebooks: the one output of a table cell (:func:`show_table`) or a
figure cell (:func:`show_figure`), the kernel setup, and the helpers the rooms' tables and
figures share."""

from casereport.display.figures import show as show_figure
from casereport.display.tables import show as show_table

__all__ = ["show_figure", "show_table"]
