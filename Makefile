# Thin wrappers around the scripts in scripts/ and the usual tools; no logic lives here.
#   make image   build the container image (both programs, ExaBGP included)
#   make deploy  install on the current kubectl context (then apply a ConfigMap from config/samples/)
#   make lab     the lab main job: `ironlb lab up $(TOPOLOGY)` on network namespaces (make lab-down ends it)
#   make test    every CI check: ruff, mypy --strict, import layers, pytest

IMG ?= ghcr.io/ironlb/ironlb:0.1.0
CONTAINER_TOOL ?= docker
TOPOLOGY ?= bgp-ecmp

.PHONY: image deploy undeploy manifests lab lab-down test

image:
	$(CONTAINER_TOOL) build -t $(IMG) .

# The speakers' membership key: a random Secret, created once if missing (until the
# controller creates it itself; the speaker pods wait for it).
deploy:
	kubectl apply -k config/default
	kubectl -n ironlb-system get secret ironlb-memberlist >/dev/null 2>&1 || \
	  kubectl -n ironlb-system create secret generic ironlb-memberlist \
	    --from-literal=secretkey="$$(head -c 64 /dev/urandom | base64 -w0)"

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
