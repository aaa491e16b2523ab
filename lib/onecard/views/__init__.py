"""Views of a finished run: the township review (notebooks, reports) and the explorer."""
