"""The lessons' interactive explorers (ipywidgets).

Used through its modules: helpers.widgets.conv_explorer, helpers.widgets.explorer.
"""
