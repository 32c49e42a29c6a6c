"""BGP announcement through ExaBGP (5.0.x): the speaker's BGP backend.

Pieces, from pure to imperative:

- ``ironlb.announce.bgp`` (pure): per selected peer, the session (local address,
  router id, BFD profile, or why it cannot open; ``ironlb.announce.bgp_sessions``)
  and the complete set of routes with attributes that this node should announce.
- ``exabgp_config`` (pure): ExaBGP's configuration file rendered from those
  sessions (one ``neighbor`` per session, the API process, graceful restart).
- ``commands`` (pure): ``announce route`` / ``withdraw route`` lines for the
  difference between what ExaBGP acknowledged and what is desired.
- ``driver``: the API connection (through ``relay.py``, ExaBGP's helper process):
  pipelined commands, acks with a timeout, session events, replay after restarts.
- ``exabgp_process`` and ``backend``: ExaBGP as a supervised child (tenacity
  backoff on death or hang), ``reload`` on peer changes, metrics.

Operational knobs: ``--bgp-workdir`` (config, API socket), ``--bgp-password-dir``
(TCP MD5 passwords from a mounted Secret, one file per peer address),
``--bgp-graceful-restart`` (seconds; 0 disables). ExaBGP settings not set by
ironlb pass through from the environment (``exabgp_<section>_<key>``), e.g.
``exabgp_reactor_speed`` (a shorter reactor nap; measured no clear gain on
bulk loads here, and three times the idle CPU at 0.1).
"""
