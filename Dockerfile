# One image for both programs: the Deployment runs `ironlb-controller`, the DaemonSet
# `ironlb-speaker` (ExaBGP comes in as a Python dependency, FRR's bfdd as a Debian
# package). Build: `make image`.
#
# The default user is unprivileged (the controller runs as it, runAsNonRoot); the
# speaker's DaemonSet overrides it with runAsUser 0 because AF_PACKET sockets and
# netlink need NET_RAW/NET_ADMIN, which only a root process holds in a container.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ironlb ./ironlb
COPY controller ./controller
COPY speaker ./speaker
RUN python -m venv /opt/ironlb \
 && /opt/ironlb/bin/pip install . \
 && /opt/ironlb/bin/ironlb --help >/dev/null

FROM python:3.11-slim
LABEL org.opencontainers.image.title="ironlb" \
      org.opencontainers.image.description="Bare-metal LoadBalancer provider for Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/ironlb/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/ironlb /opt/ironlb
# FRR's bfdd (package frr) runs next to ExaBGP for BGP peers that name a bfd-profile; the
# speaker starts only bfdd (no zebra, no other FRR daemon) and talks to it with vtysh.
# root joins FRR's vty group so that bfdd can stay root (-u root -g root): switching to
# the frr user needs CAP_SETUID/SETGID/CHOWN, which the speaker's container drops. bfdd
# itself needs CAP_SYS_ADMIN and CAP_NET_BIND_SERVICE besides NET_RAW (see README).
RUN apt-get update \
 && apt-get install -y --no-install-recommends frr \
 && rm -rf /var/lib/apt/lists/* \
 && test -x /usr/lib/frr/bfdd \
 && usermod -a -G frrvty root
RUN groupadd --system --gid 65532 ironlb \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin ironlb
# Numeric, so that the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 65532:65532
CMD ["ironlb", "--help"]
