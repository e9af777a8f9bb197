"""Browser tests: the lessons as a learner sees them, in JupyterLab driven by headless Chromium."""
