"""nbgrader settings of this machine's JupyterLab (the course's own are in ../nbgrader_config.py).

The exchange (where Formgrader's "Release" puts assignments and the students' Assignment List
fetches them from) is a folder of the repository, ignored by git, instead of nbgrader's
system-wide /srv/nbgrader/exchange: a course on one machine needs no root. A JupyterHub
deployment points Exchange.root at a shared folder instead.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.Exchange.root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exchange")
