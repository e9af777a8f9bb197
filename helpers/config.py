"""Course-wide settings: the one place that names the repository.

The Colab badges and the Colab setup cell that `python -m instructor_tools.build` stamps into
every notebook are generated from these two values.

Used by helpers.data, instructor_tools.lesson (badge and setup cell), instructor_tools.book.pages.
"""

#: Where the course lives on GitHub (owner/name). Forks change this line and rebuild.
GITHUB_REPOSITORY = "upsampling-course/upsampling-from-pixels-to-gans"
#: The branch or tag that the badges open and that the Colab setup cell fetches.
GIT_REF = "main"

REPOSITORY_URL = f"https://github.com/{GITHUB_REPOSITORY}"
