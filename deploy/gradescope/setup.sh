#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image. The zip you upload holds the
# course (this repository, at the commit you grade with) with this file and run_autograder at its root:
#   git archive --format=zip -o autograder.zip HEAD && \
#   zip -j autograder.zip deploy/gradescope/setup.sh deploy/gradescope/run_autograder
# (docs/grading.md, "Grading at scale"). Gradescope unpacks it into /autograder/source.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
# bubblewrap: the grader's sandbox; python3-venv: the course's own environment, as the README installs it.
apt-get install -y --no-install-recommends bubblewrap python3 python3-venv python3-pip
python3 -m venv /autograder/venv
# The CPU build of PyTorch first (no GPU here), then the lessons' requirements: the README's install.
/autograder/venv/bin/python -m pip install torch --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/python -m pip install -r /autograder/source/requirements.txt
