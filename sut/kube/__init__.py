"""The Kubernetes wire protocol: a backend that talks to any API server by URL, and a server for any backend.

- :mod:`listwatch_conformance.sut.kube.wire`: the ConfigMap/Status/watch-event JSON both sides share;
- :mod:`listwatch_conformance.sut.kube.client`: :class:`KubeBackend`, sut/api.py over HTTP (``--sut kube``);
- :mod:`listwatch_conformance.sut.kube.server`: any Backend served as ConfigMaps (``python -m listwatch_conformance.sut.kube serve``);
- :mod:`listwatch_conformance.sut.kube.process`: start/stop that server as a child process;
- :mod:`listwatch_conformance.sut.kube.plugin`: the pytest options (``--kube-url``, ``--kube-serve``...).
"""
