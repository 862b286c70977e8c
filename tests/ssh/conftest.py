# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real remote host over real SSH, on loopback: a dedicated unprivileged user made for the
test, its own key pair and host key, and an OpenSSH server (from scripts/fetch-sshd.sh) that
runs as that user on a free loopback port. Everything is removed afterwards: the user's
processes (found by its uid, ended by pid), the server, the user and its folder."""

from __future__ import annotations

import glob
import os
import platform
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SSHD_ROOT = os.path.join(REPO, ".build", "sshd", "root")


class SshTarget:
    """What a test needs to reach the host: the inventory and the user's paths."""

    def __init__(self, base: str, user: str, port: int) -> None:
        self.base = base
        self.user = user
        self.port = port
        info = pwd.getpwnam(user)
        self.uid, self.gid, self.home = info.pw_uid, info.pw_gid, info.pw_dir
        self.inventory = os.path.join(base, "hosts.yml")

    def run_as(self, *argv: str) -> subprocess.CompletedProcess:
        """A command as the test user (tmux refuses clients of another uid)."""
        return subprocess.run(list(argv), user=self.uid, group=self.gid, extra_groups=[], cwd=self.home,
                              env={"HOME": self.home, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                              check=False, timeout=60)

    def give(self, path: str) -> None:
        for root, dirs, files in os.walk(path):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, self.uid, self.gid)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("sshd exited: %s" % open(log, encoding="utf-8").read())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("sshd did not listen on 127.0.0.1:%d" % port)


def _pids_of(uid: int) -> list:
    pids = []
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status, encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(status.split("/")[2]))
                        break
        except OSError:
            continue
    return pids


@pytest.fixture(scope="module")
def ssh_target():
    if os.geteuid() != 0:
        pytest.fail("the SSH test creates a dedicated user and needs root (it runs as root in CI)")
    sshd = os.path.join(SSHD_ROOT, "usr", "sbin", "sshd")
    if not os.access(sshd, os.X_OK):
        pytest.fail("no sshd at %s: run scripts/fetch-sshd.sh (make test-ssh does)" % sshd)
    base = tempfile.mkdtemp(prefix="agentloops-ssh-")
    os.chmod(base, 0o755)
    # The server runs as the test user, who may not reach the checkout (a clone under a 0700
    # folder, such as root's home): it runs from a copy in the test's own folder.
    root = os.path.join(base, "sshd")
    shutil.copytree(SSHD_ROOT, root, symlinks=True)
    sshd = os.path.join(root, "usr", "sbin", "sshd")
    user = "alssh%s" % secrets.token_hex(3)
    home = os.path.join(base, "home")
    subprocess.run(["useradd", "--create-home", "--home-dir", home, "--shell", "/bin/sh", "--user-group", user],
                   check=True, capture_output=True)
    proc = None
    try:
        subprocess.run(["usermod", "-p", "*", user], check=True, capture_output=True)  # no password, not locked
        target = SshTarget(base, user, _free_port())
        ssh_dir = os.path.join(home, ".ssh")
        os.makedirs(ssh_dir, mode=0o700)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(base, "client_key")],
                       check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(base, "host_key")],
                       check=True)
        shutil.copy(os.path.join(base, "client_key.pub"), os.path.join(ssh_dir, "authorized_keys"))
        target.give(ssh_dir)
        os.chown(os.path.join(base, "host_key"), target.uid, target.gid)
        arch = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}.get(platform.machine(), "")
        sftp = os.path.join(root, "usr", "lib", "openssh", "sftp-server")
        config = os.path.join(base, "sshd_config")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write("\n".join([
                "Port %d" % target.port, "ListenAddress 127.0.0.1", "HostKey %s/host_key" % base,
                "PidFile %s/sshd.pid" % home, "AuthorizedKeysFile %s/authorized_keys" % ssh_dir,
                "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
                "UsePAM no", "StrictModes no", "PermitUserEnvironment no", "Subsystem sftp %s" % sftp,
                "LogLevel VERBOSE", ""]))
        with open(os.path.join(base, "host_key.pub"), encoding="utf-8") as handle:
            host_key = " ".join(handle.read().split()[:2])
        known_hosts = os.path.join(base, "known_hosts")
        with open(known_hosts, "w", encoding="utf-8") as handle:
            handle.write("[127.0.0.1]:%d %s\n" % (target.port, host_key))
        with open(target.inventory, "w", encoding="utf-8") as handle:
            handle.write(
                "all:\n  hosts:\n    remote:\n      ansible_host: 127.0.0.1\n      ansible_port: %d\n"
                "      ansible_user: %s\n      ansible_ssh_private_key_file: %s/client_key\n"
                "      ansible_ssh_common_args: -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes -o BatchMode=yes\n"
                "      ansible_python_interpreter: /usr/bin/python3\n" % (target.port, user, base, known_hosts))
        log = os.path.join(base, "sshd.log")
        env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": os.path.join(root, "usr", "lib", arch)}
        with open(log, "w", encoding="utf-8") as out:
            proc = subprocess.Popen([sshd, "-D", "-e", "-f", config], user=target.uid, group=target.gid,
                                    extra_groups=[], env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        _wait_for_port(target.port, proc, log)
        yield target
    finally:
        uid = pwd.getpwnam(user).pw_uid
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        for _round in range(3):  # the user exists for this test only: whatever runs as it is ours
            pids = _pids_of(uid)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        subprocess.run(["userdel", user], check=False, capture_output=True)
        subprocess.run(["groupdel", user], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
