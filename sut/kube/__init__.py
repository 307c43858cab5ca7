"""The Kubernetes wire protocol: a backend that talks to any API server by URL, and a server for any backend.

- :mod:`sut.kube.wire`: the ConfigMap/Status/watch-event JSON both sides share;
- :mod:`sut.kube.client`: :class:`KubeBackend`, sut/api.py over HTTP (``--sut kube``);
- :mod:`sut.kube.server`: any Backend served as ConfigMaps (``python -m sut.kube serve``);
- :mod:`sut.kube.process`: start/stop that server as a child process;
- :mod:`sut.kube.plugin`: the pytest options (``--kube-url``, ``--kube-serve``...).
"""
