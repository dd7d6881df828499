"""The result codes the contract names (§6.4): the successful ones, the BUG and TRANSIENT lists.

The Django side's one reading of them, used by the template helpers and the admin's result-code
filter; the emulator keeps its own, and a test holds both to the contract document.
"""

from __future__ import annotations

SUCCESSFUL = ("success", "nothing-to-do", "nothing-new-to-do")
BUG_CODES = frozenset(
    [
        "worker-failure",
        "worker-exception",
        "worker-clone-incomplete-read",
        "worker-clone-malformed-transform",
        "chroot-not-found",
        "worker-killed",
    ]
)
TRANSIENT_CODES = frozenset(
    [
        "cancelled",
        "aborted",
        "install-deps-file-fetch-failure",
        "apt-get-update-file-fetch-failure",
        "build-failed-stage-apt-get-update",
        "build-failed-stage-apt-get-dist-upgrade",
        "build-failed-stage-explain-bd-uninstallable",
        "502-bad-gateway",
        "worker-502-bad-gateway",
        "build-failed-stage-create-session",
        "apt-get-update-missing-release-file",
        "no-space-on-device",
        "worker-killed",
        "too-many-requests",
        "check-space-insufficient-disk-space",
        "worker-resume-branch-unavailable",
        "worker-timeout",
        "worker-clone-bad-gateway",
        "worker-clone-temporary-transport-error",
        "push-failed",
        "push-bad-gateway",
        "testbed-chroot-disappeared",
        "apt-file-fetch-failure",
        "pull-rate-limited",
        "session-setup-failure",
        "run-disappeared",
        "branch-temporarily-unavailable",
    ]
)

#: Every code the contract names: the successful ones, then the others in alphabetical order.
NAMED_CODES = SUCCESSFUL + tuple(sorted((BUG_CODES | TRANSIENT_CODES) - set(SUCCESSFUL)))
