"""JupyterLab settings for this course's lab: no news feed and no update checks (a classroom
lab makes no requests to outside sites)."""

c = get_config()  # noqa: F821 - provided by traitlets when Jupyter loads this file

c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
