"""The batch runner behind ``onecard run`` and the papermill notebook execution it uses."""
