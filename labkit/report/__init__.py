"""Results and how they are shown: the results store, tables, plots, widgets."""
