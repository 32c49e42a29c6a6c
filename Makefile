# Thin wrappers around the scripts in scripts/ and the usual tools; no logic lives here.
#   make image   build the container image IMG (both programs, ExaBGP included); make push pushes it
#   make deploy  install on the current kubectl context with the image IMG (scripts/deploy.sh: a
#                temporary overlay sets it, the repository's files stay as they are); DEPLOY=config/bfd
#                for BGP peers with bfd-profiles. Then apply a ConfigMap from config/samples/.
#   make lab     the lab with ironlb running on it: `ironlb lab up $(TOPOLOGY)` (make lab-down ends it)
#   make test    every CI check: ruff, mypy --strict, import layers, pytest

IMG ?= ghcr.io/ironlb/ironlb:0.1.0
CONTAINER_TOOL ?= docker
DEPLOY ?= config/default
TOPOLOGY ?= bgp-ecmp

.PHONY: image push deploy undeploy manifests lab lab-down test

image:
	$(CONTAINER_TOOL) build -t $(IMG) .

push:
	$(CONTAINER_TOOL) push $(IMG)

# The speakers' membership Secret is created by the leading controller when missing
# (the speaker pods wait for it).
deploy:
	bash scripts/deploy.sh $(IMG) $(DEPLOY)

undeploy:
	kubectl delete -k $(DEPLOY) --ignore-not-found

manifests:
	kubectl kustomize $(DEPLOY)

lab:
	bash scripts/setup.sh
	.venv/bin/ironlb lab up $(TOPOLOGY)

lab-down:
	.venv/bin/ironlb lab down $(TOPOLOGY)

test:
	bash scripts/test.sh
