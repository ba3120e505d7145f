"""Course package: data loaders, runtime flags, student checks and instructor tools.

Students install it too (Colab, JupyterLab): it holds no solutions and no hidden tests.
"""

__version__ = "0.1.0"

# The one place that names the course repository: Colab badges and install lines use it.
REPOSITORY = "https://github.com/cursos-ia-es/curso-redes-neuronales"
