"""The kernels: a warm template process that imports the stack once and forks Jupyter
kernels, the provisioner that uses it, and the client that connects without a fixed wait."""
