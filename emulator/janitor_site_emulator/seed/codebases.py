"""The ``codebase`` rows of the demo data: names, repositories, VCS types."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit

from .draw import Draw, Row

_FIXED_CODEBASES = (
    ("python-debian", "python-team/packages"), ("python-debianbts", "python-team/packages"),
    ("debian-keyring", "debian"), ("python3.11", "cpython-team"),
    ("libsigc++-2.0", "gnome-team"), ("gtk+3.0", "gnome-team"), ("0ad", "games-team"),
    ("r-cran-data.table", "r-pkg-team"),
)  # fmt: skip
#: (name template, salsa team, weight)
_NAME_TEMPLATES = (
    ("python-{a}", "python-team/packages", 6), ("lib{a}-perl", "perl-team/modules/packages", 3),
    ("lib{a}-{b}-perl", "perl-team/modules/packages", 2),
    ("golang-github-{a}-{b}", "go-team/packages", 3), ("ruby-{a}", "ruby-team", 2),
    ("node-{a}", "js-team", 2), ("r-cran-{a}", "r-pkg-team", 1),
    ("rust-{a}", "rust-team/debcargo-conf", 1), ("haskell-{a}", "haskell-team/DHG_packages", 1),
    ("php-{a}", "php-team/pear", 1), ("{a}", "debian", 2), ("lib{a}", "debian", 1),
    ("{a}-utils", "debian", 1),
)  # fmt: skip
_WORDS = (
    "requests", "yaml", "jinja", "lxml", "attrs", "click", "numpy", "tornado", "twisted",
    "dulwich", "breezy", "paramiko", "urllib3", "chardet", "pygments", "docutils", "sphinx",
    "toml", "xdg", "gnupg", "dbus", "cairo", "gobject", "ldap", "magic", "mock", "pytest", "six",
    "babel", "markdown", "feedparser", "httplib2", "kombu", "redis", "psutil", "pexpect", "zmq",
    "sqlparse", "dateutil", "json", "http", "text", "file", "net", "data", "time", "uri", "moose",
    "test", "log", "config", "template", "dbi", "xml", "html", "mail", "io", "crypt", "digest",
    "compress", "term", "cache", "event", "socket", "parser", "tiny", "simple", "x11", "sdl2",
    "ipv6", "mp3", "gtk3", "sanity", "hashdiff", "docopt", "cobra", "viper", "afero", "pflag",
)  # fmt: skip
_GIT_BRANCHES = {"master": 5, "main": 2, "debian/master": 2, "debian/latest": 2, "debian/sid": 1}
_VCS_TYPES: Mapping[str | None, float] = {
    "git": 85, "bzr": 4, "hg": 3, "svn": 3, "mtn": 0.5, "arch": 0.5, "cvs": 0.5, "darcs": 0.5,
    None: 2,
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Codebases:
    """The ``codebase`` rows by name, and the salsa team of each."""

    rows: dict[str, Row]
    teams: dict[str, str]


def make_codebases(draw: Draw, n: int) -> Codebases:
    """``n`` codebases, every VCS type among them; a few git ones have no repository URL."""
    codebases = Codebases({}, {})
    for (name, team), vcs_type in zip(
        _codebase_names(draw, n), draw.spread(n, _VCS_TYPES), strict=True
    ):
        codebases.teams[name] = team
        codebases.rows[name] = _codebase_row(draw, name, team, vcs_type)
    # A few have no repository URL (git ones, so every vcs_type keeps a URL).
    gits = [row for row in codebases.rows.values() if row["vcs_type"] == "git"]
    for row in draw.rng.sample(gits, max(1, n // 40)):
        for key in ("url", "branch", "branch_url", "subpath", "web_url", "hostname"):
            row[key] = None
        row["url_lower"] = None
    return codebases


def _codebase_names(draw: Draw, n: int) -> list[tuple[str, str]]:
    names = dict(_FIXED_CODEBASES[:n])
    weights = [weight for _, _, weight in _NAME_TEMPLATES]
    attempts = 0
    while len(names) < n:
        template, team, _ = draw.rng.choices(_NAME_TEMPLATES, weights=weights)[0]
        name = base = template.format(a=draw.rng.choice(_WORDS), b=draw.rng.choice(_WORDS))
        attempts += 1
        if name in names and attempts % 20:
            continue  # draw again; every 20th draw makes a taken name unique instead
        for suffix in itertools.count(2):
            if name not in names:
                break
            name = f"{base}{suffix}"
        names[name] = team
    return list(names.items())


def _codebase_row(draw: Draw, name: str, team: str, vcs_type: str | None) -> Row:
    url, branch, web_url = _location(draw, name, team, vcs_type)
    branch_url = url if branch is None else f"{url},branch={branch}"
    last_scanned = draw.timestamp(timedelta(hours=1), timedelta(days=60))
    return {
        "name": name,
        "branch_url": branch_url,
        "url": url,
        "branch": branch,
        "subpath": f"packages/{name}" if draw.chance(0.05) else "",
        "vcs_last_revision": draw.maybe(0.15, draw.revision()),
        "last_scanned": draw.maybe(0.1, last_scanned),
        "web_url": web_url,
        "vcs_type": vcs_type,
        "value": draw.maybe(0.1, draw.integer(1, 100)),
        "inactive": draw.chance(0.05),
        "hostname": urlsplit(branch_url).hostname,
        "name_lower": name.lower(),
        "url_lower": url.lower(),
    }


def _location(
    draw: Draw, name: str, team: str, vcs: str | None
) -> tuple[str, str | None, str | None]:
    """(url, branch, web_url) of a codebase's repository."""
    owner = team.split("/")[0]
    if vcs in ("git", None):
        if draw.chance(0.85):
            url = f"https://salsa.debian.org/{team}/{name}.git"
        else:
            url = f"https://github.com/{draw.rng.choice(_WORDS)}/{name}.git"
        return url, draw.pick(_GIT_BRANCHES), url.removesuffix(".git")
    launchpad = f"~{owner}/{name}/trunk"
    return {
        "bzr": (f"https://bazaar.launchpad.net/{launchpad}", None,
                f"https://code.launchpad.net/{launchpad}"),
        "hg": (f"https://foss.heptapod.net/{team}/{name}", "default",
               f"https://foss.heptapod.net/{team}/{name}"),
        "svn": (f"svn://svn.debian.org/svn/{owner}/{name}/trunk", None, None),
        "mtn": (f"mtn://code.monotone.ca/{name}", f"org.debian.{name}", None),
        "arch": (f"http://arch.debian.org/arch/{owner}/{name}", None, None),
        "cvs": (f"pserver://anonymous@cvs.savannah.gnu.org/sources/{name}", None, None),
        "darcs": (f"https://hub.darcs.net/{owner}/{name}", None,
                  f"https://hub.darcs.net/{owner}/{name}"),
    }[vcs]  # fmt: skip
