"""The lessons' interactive explorers (ipywidgets)."""
