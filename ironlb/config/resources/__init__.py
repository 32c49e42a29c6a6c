"""ironlb's configuration as ``ironlb.io/v1beta1`` custom resources (MetalLB 0.16's kinds and fields,
plus ``ClusterIPAdvertisement``).

Modules, in the order an object goes through them:

- ``schema`` -- the CRDs (OpenAPI schema and CEL rules, printer columns), written once in
  Python; ``scripts/crds.py`` renders ``config/crd/bases/``;
- ``wire`` -- strict pydantic models of each kind's ``spec`` (the edge);
- ``objects`` -- raw objects → typed objects (apiVersion, kind, name, namespace, spec);
- ``items`` -- pools, peers, BFD profiles, Community aliases → domain types;
- ``advertisements`` -- L2/BGP/ClusterIP advertisements, with pool selection;
- ``build`` -- everything merged with the ConfigMap's config, the rules across objects;
- ``render`` -- a domain config → resources (``ironlb convert``).

The entry point is :func:`ironlb.config.load.load_config`.
"""
