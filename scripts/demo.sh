#!/usr/bin/env bash
# ironlb's main job, end to end, on this machine: no Kubernetes, no Docker, real routing.
#
# Brings up the bgp-ecmp lab (a real FRR router, three nodes, a client host, on network
# namespaces) with ironlb running on it -- the controller, a speaker per node (BGP through
# ExaBGP), and a tiny HTTP backend per node that answers with the node's name -- then shows:
# the IP the controller gave a LoadBalancer Service, the router's multipath route with one
# next hop per node, curl from the client answered by different nodes (LoadBalancer IP and
# ClusterIP), a Service applied and deleted. Everything is torn down at the end, also on
# Ctrl-C or failure. Needs root (network namespaces). Takes 10-31 s after set-up on 2 cores, depending
# on how busy they are (measured: 10-24 s with other jobs running, 21-31 s with both cores kept busy).
# IRONLB_SKIP_SETUP=1 skips scripts/setup.sh (packages and .venv already there; the tests use it);
# IRONLB_DEMO_LAB names the lab (default ironlb-demo).
set -euo pipefail
cd "$(dirname "$0")/.."

# Network namespaces need root. As root the demo just runs (a minimal Debian has no sudo); a user
# with sudo gets the demo re-run through it, with the IRONLB_* settings above carried over.
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    echo "demo: needs root for network namespaces; running it with sudo" >&2
    exec sudo env "IRONLB_SKIP_SETUP=${IRONLB_SKIP_SETUP:-}" "IRONLB_DEMO_LAB=${IRONLB_DEMO_LAB:-}" \
      "IRONLB_LAB_STATE=${IRONLB_LAB_STATE:-}" bash "$PWD/scripts/demo.sh" "$@"
  fi
  echo "demo: needs root for network namespaces; run it as root (su -c 'bash scripts/demo.sh'), or install sudo" >&2
  exit 1
fi

if [ "${IRONLB_SKIP_SETUP:-}" != 1 ]; then
  bash scripts/setup.sh
fi

LAB=${IRONLB_DEMO_LAB:-ironlb-demo}
BIN=$PWD/.venv/bin
ironlb() { "$BIN/ironlb" "$@"; }
say() { printf '\n### %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
WORK=$(mktemp -d)
cleanup() {
  trap '' INT TERM  # a second Ctrl-C must not cut the teardown short (children inherit the ignore)
  say "tear down: every namespace and process of the lab goes"
  run ironlb lab down "$LAB" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM

# wait_for DESCRIPTION COMMAND...: retry COMMAND (quietly) for up to 30 s
wait_for() {
  local what=$1; shift
  for _ in $(seq 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "demo: timed out waiting for $what" >&2
  return 1
}
lb_ip() { ironlb lab services "$LAB" | awk -v s="$1" '$2 == s && $5 !~ /pending/ {print $5}'; }
has_ip() { [ -n "$(lb_ip "$1")" ]; }
hops() { [ "$(ironlb lab exec "$LAB" router -- ip route show "$2" | grep -c 'nexthop via')" -eq "$1" ]; }
no_route() { [ -z "$(ironlb lab exec "$LAB" router -- ip route show "$1")" ]; }
curl_many() {  # N connections from the client, how many each node answered
  printf '$ for i in $(seq %s); do curl -s http://%s/; done | sort | uniq -c\n' "$1" "$2"
  ironlb lab exec "$LAB" client -- sh -c "for i in \$(seq $1); do curl -s -m 2 http://$2/ || echo '(no answer)'; done" \
    | sort | uniq -c
}

say "bring up the bgp-ecmp lab with ironlb on it (FRR router, node1-3, client)"
run ironlb lab up containerlab/bgp-ecmp/bgp-ecmp.clab.yml --name "$LAB"   # runs ironlb too: the topology ships ironlb/
run ironlb lab status "$LAB"

say "the controller gave the Service 'web' an IP from the pool 198.51.100.0/26"
wait_for "an IP for web" has_ip web
WEB=$(lb_ip web)
run ironlb lab services "$LAB"

say "what each speaker announces, to which peer (ironlb plan over the lab's cluster directory)"
CLUSTER=${IRONLB_LAB_STATE:-/run/ironlb-lab}/$LAB/cluster
run ironlb plan -c "$CLUSTER/config.yaml" -f "$CLUSTER"

say "every node announces it over BGP: the router has ONE route with a next hop per node"
wait_for "the route to $WEB" hops 3 "$WEB"
wait_for "the route to 10.96.0.0/12" hops 3 10.96.0.0/12
run ironlb lab exec "$LAB" router -- ip route show "$WEB"
run ironlb lab exec "$LAB" router -- ip route show 10.96.0.0/12

say "the client's connections to the LoadBalancer IP spread over the nodes (ECMP, L4 hash)"
curl_many 12 "$WEB"
say "... and so do its connections to the ClusterIP 10.96.0.10 (ironlb announces the ClusterIP range)"
curl_many 12 10.96.0.10

say "apply a new Service with externalTrafficPolicy: Local and endpoints on node2 and node3 only"
cat > "$WORK/shop.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: default}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  clusterIP: 10.96.0.20
  ports: [{port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: shop-1, namespace: default, labels: {kubernetes.io/service-name: shop}}
addressType: IPv4
endpoints:
- {addresses: [10.244.2.20], conditions: {ready: true}, nodeName: node2}
- {addresses: [10.244.3.20], conditions: {ready: true}, nodeName: node3}
EOF
cd "$WORK"
run cat shop.yaml
run cp shop.yaml "$CLUSTER/"     # the lab's `kubectl apply`: the cluster is a directory of manifests
cd - >/dev/null
wait_for "an IP for shop" has_ip shop
SHOP=$(lb_ip shop)
run ironlb lab services "$LAB"
wait_for "the route to $SHOP" hops 2 "$SHOP"
say "only node2 and node3 announce it, so only they get its traffic"
run ironlb lab exec "$LAB" router -- ip route show "$SHOP"
curl_many 12 "$SHOP"

say "delete it: its IP, its route and its answers are gone"
run rm "$CLUSTER/shop.yaml"
wait_for "shop to go" sh -c "! '$BIN/ironlb' lab services $LAB | grep -q shop"
wait_for "the route to $SHOP to go" no_route "$SHOP"
run ironlb lab services "$LAB"
printf '$ ironlb lab exec %s router -- ip route show %s\n' "$LAB" "$SHOP"
route=$(ironlb lab exec "$LAB" router -- ip route show "$SHOP")
echo "${route:-(no route)}"
curl_many 2 "$SHOP"
