"""Settings for every test, notebooks included: kernels and CLIs started by the suite run the
smoke profile, whichever paths pytest is given."""

import os

os.environ["COURSE_PROFILE"] = "smoke"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
