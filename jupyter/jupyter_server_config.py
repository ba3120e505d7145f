"""JupyterLab for this course (`make lab` sets JUPYTER_CONFIG_DIR to this folder).

The repository is both the server's root and nbgrader's course directory, so Formgrader finds
nbgrader_config.py and the assignments; only this machine (127.0.0.1) can reach the server.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when Jupyter loads this file

COURSE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.root_dir = COURSE
c.ServerApp.open_browser = False
c.ServerApp.jpserver_extensions.update({"jupyterlab": True, "nbgrader": True})
