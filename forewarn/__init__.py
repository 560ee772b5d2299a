"""The ``forewarn`` command: wires config, the web app and the worker together."""
