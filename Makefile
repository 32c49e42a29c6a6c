# Thin wrappers around the scripts in scripts/ and the usual tools; no logic lives here.
#   make image   build the container image (both programs, ExaBGP included)
#   make deploy  install on the current kubectl context (then apply a ConfigMap from config/samples/)
#   make lab     the lab with ironlb running on it: `ironlb lab up $(TOPOLOGY)` (make lab-down ends it)
#   make test    every CI check: ruff, mypy --strict, import layers, pytest

IMG ?= ghcr.io/ironlb/ironlb:0.1.0
CONTAINER_TOOL ?= docker
TOPOLOGY ?= bgp-ecmp

.PHONY: image deploy undeploy manifests lab lab-down test

image:
	$(CONTAINER_TOOL) build -t $(IMG) .

# The speakers' membership Secret is created by the leading controller when missing
# (the speaker pods wait for it).
deploy:
	kubectl apply -k config/default

undeploy:
	kubectl delete -k config/default --ignore-not-found

manifests:
	kubectl kustomize config/default

lab:
	bash scripts/setup.sh
	.venv/bin/ironlb lab up $(TOPOLOGY)

lab-down:
	.venv/bin/ironlb lab down $(TOPOLOGY)

test:
	bash scripts/test.sh
