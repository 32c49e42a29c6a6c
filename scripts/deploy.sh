#!/usr/bin/env bash
# Installs ironlb on the current kubectl context, running the image IMG:
#   bash scripts/deploy.sh IMG [KUSTOMIZATION]        (make deploy IMG=... [DEPLOY=config/bfd])
# KUSTOMIZATION defaults to config/default (config/bfd when BGP peers use bfd-profiles).
# The image is set the way `kustomize edit set image` sets it, but in a temporary overlay
# outside the repository, so the repository's kustomizations stay as they are. The overlay is
# rendered with `kubectl kustomize` and applied with `kubectl apply -f -`.
set -euo pipefail
cd "$(dirname "$0")/.."

IMG=${1:?usage: deploy.sh IMG [KUSTOMIZATION]}
BASE=${2:-config/default}

# IMG = NAME[:TAG] or NAME@DIGEST; a registry port (host:5000/ironlb) is part of NAME.
case "$IMG" in
  *@*) name=${IMG%%@*}; ref="digest: ${IMG#*@}" ;;
  *)
    if [[ ${IMG##*/} == *:* ]]; then name=${IMG%:*}; ref="newTag: \"${IMG##*:}\""; else name=$IMG; ref="newTag: latest"; fi
    ;;
esac

# The overlay renames the image the kustomization renders (config/default: ghcr.io/ironlb/ironlb:TAG).
mapfile -t images < <(kubectl kustomize "$BASE" | sed -n 's/^ *image: *//p' | sort -u)
if [ ${#images[@]} -ne 1 ]; then
  echo "deploy: expected one image in $BASE, found ${#images[@]}: ${images[*]}" >&2
  exit 1
fi
current=${images[0]%%@*}
[[ ${current##*/} == *:* ]] && current=${current%:*}

overlay=$(mktemp -d)
trap 'rm -rf "$overlay"' EXIT
cat > "$overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$overlay" "$BASE")
images:
  - name: $current
    newName: $name
    $ref
YAML
echo "deploy: $BASE with image $IMG" >&2
kubectl kustomize "$overlay" | kubectl apply -f -
