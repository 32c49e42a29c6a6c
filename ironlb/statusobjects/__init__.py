"""The objects ironlb's programs publish about what they do: ``ironlb.io/v1beta1`` status kinds.

- ``ServiceL2Status`` / ``ServiceBGPStatus`` (``service``): written by each speaker, one per
  (Service, node), saying which node answers for a Service's IPs and where (interfaces), or to
  which BGP peers it announces them;
- ``cleanup``: which other nodes' objects a live speaker removes (a dead node's, a former
  layer-2 owner's), on what evidence, and which speaker;
- ``ConfigurationState`` (``configuration``): one per program (``controller``,
  ``speaker-NODE``), saying which config is in force and why the latest inputs are not.

Pure: what the objects should say, and what to do to get there from what exists. Writing them
is the adapters' (``ironlb.kube.statusobjects``, ``ironlb.kube.configurationstate``).
"""
