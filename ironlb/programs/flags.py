"""The programs' flags: each declared once, with its environment variable, its default and its help.

Why: ``ironlb-controller`` and ``ironlb-speaker`` take every setting from a flag or from the
environment (a Deployment sets ``env``), and share about eight settings. Each program lists
its settings as ``Flag`` values (the shared ones are defined here) and ``ProgramParser``
makes argparse options of them. argparse parses; this adds what argparse lacks: environment
variables, read the same way in both programs, and help that always says the default and
the variable (``--help``: ``...; default: 8 (env IRONLB_WORKERS)``).

How a value is found, for every flag of both programs:

1. the flag, if given (the last one given wins);
2. else its environment variable (then an older name of it, ``older_env``);
3. else the default.

An empty variable counts as unset, except for a flag whose empty value means "off"
(``off_when_empty``: the speaker's metrics address, the controller's membership Secret),
where an empty flag or variable means off. A variable's value is checked by the flag's own
converter; a bad one ends the program as a bad flag does: exit status 2 and one line naming
the variable (``environment variable IRONLB_WORKERS='default': 'default' is not a whole
number``), never a traceback.

Adding a setting to a program: one ``Flag`` in its list and a field of the same name in its
options dataclass (``Parsed.into`` fills the fields by name).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ironlb.cluster.manifests import DEFAULT_CONFIGMAP, DEFAULT_NAMESPACE
from ironlb.probes import CannotListen, split_address
from ironlb.version import VersionAction

T = TypeVar("T")

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})

# -- converters: text -> value, raising ArgumentTypeError (its text is the message) or ValueError --------


def boolean(text: str) -> bool:
    """``true``/``false`` and their usual spellings; anything else is refused, not taken as false."""
    value = text.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(sorted(TRUE | FALSE))}")


def positive(text: str) -> float:
    """A number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text}: must be > 0")
    return value


def at_least_one(text: str) -> int:
    """A whole number, 1 or more."""
    return _whole_number(text, 1, "must be at least 1")


def count(text: str) -> int:
    """A whole number, 0 or more."""
    return _whole_number(text, 0, "must be 0 or more")


def _whole_number(text: str, minimum: int, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{text}: {rule}")
    return value


def metrics_address(text: str) -> str:
    """``HOST:PORT`` or ``:PORT``, checked by the parser the server uses (``ironlb.probes``)."""
    try:
        split_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def log_format(text: str) -> str:
    if text not in ("text", "json"):
        raise argparse.ArgumentTypeError(f"{text!r}: choose text or json")
    return text


# -- one setting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One setting: ``--name`` on the command line, ``env`` in the environment."""

    name: str
    """The option, e.g. ``--metrics-address``."""
    env: str
    """Its environment variable, e.g. ``IRONLB_METRICS_ADDRESS``."""
    help: str
    """What it is; ``help_text`` adds the default and the variable."""
    default: Any = None
    convert: Callable[[str], Any] = str
    shown_default: str | None = None
    """How ``--help`` states the default when the value alone would not say it (a ``None`` default)."""
    dest: str | None = None
    """The value's name; by default the option's (``metrics_address``)."""
    aliases: tuple[str, ...] = ()
    """Older option names, still accepted."""
    older_env: tuple[str, ...] = ()
    """Older variable names, read when ``env`` is unset."""
    metavar: str | None = None
    switch: bool = False
    """An on/off setting: ``--name`` and ``--no-name``; its variable takes true/false."""
    required: bool = False
    off_when_empty: bool = False
    """An empty value (flag or variable) means off, not the default."""

    @property
    def key(self) -> str:
        return self.dest or self.name.lstrip("-").replace("-", "_")

    def help_text(self) -> str:
        """``what; default: D (env VAR)``, as ``--help`` shows it (``%`` escaped for argparse)."""
        if self.required:
            default = "required"
        elif self.shown_default is not None:
            default = f"default: {self.shown_default}"
        elif self.switch:
            default = f"default: {'on' if self.default else 'off'}"
        else:
            default = f"default: {'none' if self.default is None else self.default}"
        env = f"env {self.env}" + "".join(f"; older name {name}" for name in self.older_env)
        return f"{self.help}; {default} ({env})".replace("%", "%%")


def _empty_is_off(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def off_or_converted(text: str) -> Any:
        return "" if text == "" else convert(text)

    off_or_converted.__name__ = getattr(convert, "__name__", "value")  # argparse names it in errors
    return off_or_converted


@dataclass(frozen=True)
class Parsed:
    """Every setting's value (by ``Flag.key``), and which were given as flags."""

    values: Mapping[str, Any]
    given: frozenset[str]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def into(self, cls: type[T], **overrides: Any) -> T:
        """A ``cls`` dataclass whose fields take the values of the same name, or ``overrides``."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{**{k: v for k, v in self.values.items() if k in names}, **overrides})


class ProgramParser(argparse.ArgumentParser):
    """argparse options made of ``flags``, plus ``--version``; ``parse`` resolves the environment too."""

    def __init__(self, prog: str, description: str, flags: Sequence[Flag]) -> None:
        super().__init__(prog=prog, description=description)
        self.flags: dict[str, Flag] = {}
        self.add_argument("--version", action=VersionAction, help="print the version and exit")
        for flag in flags:
            self.add(flag)

    def add(self, flag: Flag) -> None:
        if flag.key in self.flags:
            raise ValueError(f"{flag.name}: a second flag with the value name {flag.key!r}")
        self.flags[flag.key] = flag
        options: dict[str, Any] = {"dest": flag.key, "default": None, "help": flag.help_text()}
        if flag.switch:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = _empty_is_off(flag.convert) if flag.off_when_empty else flag.convert
            options["metavar"] = flag.metavar
        self.add_argument(flag.name, *flag.aliases, **options)

    def parse(self, argv: Sequence[str] | None, env: Mapping[str, str]) -> Parsed:
        """Parse ``argv``, then fill what was not given from ``env``, else the defaults (exit 2 on errors)."""
        namespace = self.parse_args(argv)
        given = frozenset(key for key in self.flags if getattr(namespace, key) is not None)
        values: dict[str, Any] = {}
        for key, flag in self.flags.items():
            value = getattr(namespace, key)
            value = value if value is not None else self._from_env(flag, env)
            # An empty value of a setting that has no default leaves it unset (None).
            values[key] = None if value == "" and flag.default is None else value
            if flag.required and not values[key]:
                self.error(f"{flag.name} (or {flag.env}) is required")
        return Parsed(values, given)

    def _from_env(self, flag: Flag, env: Mapping[str, str]) -> Any:
        for name in (flag.env, *flag.older_env):
            raw = env.get(name, "")
            if not raw.strip():
                if flag.off_when_empty and name in env:
                    return ""
                continue
            convert = boolean if flag.switch else flag.convert
            try:
                return convert(raw.strip())
            except (ValueError, argparse.ArgumentTypeError) as exc:
                reason = str(exc) if isinstance(exc, argparse.ArgumentTypeError) else ""
                kind = getattr(convert, "__name__", "value")
                self.error(f"environment variable {name}={raw!r}: {reason or f'invalid {kind} value'}")
        return flag.default


# -- the settings both programs have ------------------------------------------------------------------

KUBECONFIG = Flag(
    "--kubeconfig",
    "KUBECONFIG",
    "kubeconfig of the Kubernetes API server to use",
    shown_default="in-cluster credentials when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config",
    metavar="FILE",
)
MANIFESTS = Flag(
    "--manifests",
    "IRONLB_MANIFESTS",
    "read the cluster state from this manifest directory instead of the Kubernetes API",
    shown_default="the Kubernetes API",
    metavar="DIR",
)
NAMESPACE = Flag(
    "--namespace",
    "IRONLB_NAMESPACE",
    "namespace of the ConfigMap",
    default=DEFAULT_NAMESPACE,
    aliases=("--config-namespace",),  # the speaker's older names, still read (a manifest may set them)
    older_env=("IRONLB_CONFIG_NAMESPACE",),
    metavar="NAMESPACE",
)
CONFIGMAP = Flag(
    "--configmap", "IRONLB_CONFIGMAP", "name of the ConfigMap", default=DEFAULT_CONFIGMAP, metavar="NAME"
)
LB_CLASS = Flag(
    "--lb-class",
    "IRONLB_LB_CLASS",
    "only Services of this loadBalancerClass",
    shown_default="only Services without a class",
    metavar="CLASS",
)
LOG_FORMAT = Flag(
    "--log-format",
    "IRONLB_LOG_FORMAT",
    "log lines as text, or as one JSON object each",
    default="text",
    convert=log_format,
    metavar="{text,json}",
)


def metrics_address_flag(default: str, *, can_be_off: bool = False) -> Flag:
    """Where ``/metrics``, ``/healthz`` and ``/readyz`` are served (``ironlb.probes``)."""
    return Flag(
        "--metrics-address",
        "IRONLB_METRICS_ADDRESS",
        "HOST:PORT serving /metrics, /healthz and /readyz (:PORT: every address"
        + ("; empty: not served)" if can_be_off else ")"),
        default=default,
        convert=metrics_address,
        off_when_empty=can_be_off,
        metavar="HOST:PORT",
    )


def poll_interval_flag(default: float) -> Flag:
    return Flag(
        "--poll-interval",
        "IRONLB_POLL_INTERVAL",
        "with --manifests: seconds between reads of the directory",
        default=default,
        convert=positive,
        metavar="SECONDS",
    )


def cluster_source(parser: argparse.ArgumentParser, parsed: Parsed) -> dict[str, str | None]:
    """``manifests`` and ``kubeconfig``: at most one; ``KUBECONFIG`` is not used with a directory."""
    manifests = parsed["manifests"]
    if manifests and "kubeconfig" in parsed.given:
        parser.error("--manifests and --kubeconfig are two different cluster sources: give one")
    return {"manifests": manifests, "kubeconfig": None if manifests else parsed["kubeconfig"]}


def listen_failure(exc: CannotListen) -> str:
    """The one line a program logs when its metrics port is taken, before exiting 1."""
    return (
        f"{exc} for /metrics, /healthz and /readyz (--metrics-address, env IRONLB_METRICS_ADDRESS): "
        "another process has it; choose a free one"
    )
