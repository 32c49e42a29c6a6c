"""What ``ironlb-controller`` and ``ironlb-speaker`` share as programs: flags and how a value is found.

``flags``: every setting is a ``Flag`` (option, environment variable, default, help) read
the same way in both programs; the common ones (cluster source, namespace, ConfigMap,
class, metrics address, log format, poll interval) are declared here once, and every
parser has ``--version``. The one HTTP port for metrics and probes is ``ironlb.probes``.
"""
