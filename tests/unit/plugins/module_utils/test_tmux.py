# -*- coding: utf-8 -*-
# Copyright: (c) 2026, agentloops.orchestrator contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tmux driver without tmux: parsing, socket arguments, the commands it builds and how
tmux's answers become typed errors (libtmux's objects run against a fake ``Server.cmd``)."""

from __future__ import annotations

import os
import re

import pytest
from libtmux import exc as libtmux_exc
from libtmux.server import Server

from ansible_collections.agentloops.orchestrator.plugins.module_utils import tmux
from ansible_collections.agentloops.orchestrator.plugins.module_utils.errors import (
    TmuxError, TmuxForeignServer, TmuxNoServer, TmuxNoSuchSession, TmuxSessionExists)

SOCK = "/run/t/tmux.sock"
WHERE = "tmux server -S %s" % SOCK
NO_SERVER = "no server running on %s" % SOCK


class Proc:
    """What libtmux's ``tmux_cmd`` holds after a run."""

    def __init__(self, returncode: int = 0, stdout: tuple = (), stderr: tuple = ()) -> None:
        self.returncode = returncode
        self.stdout = list(stdout)
        self.stderr = list(stderr)


class FakeServer(Server):
    """libtmux's Server with ``cmd`` answered from a script: each call takes the next answer
    (a Proc, or an exception to raise); the argv of every call is kept."""

    def __init__(self, answers: list) -> None:
        super().__init__(socket_path=SOCK)
        self.answers = list(answers)
        self.calls: list = []
        self.tmux_env: list = []
        self.loaded: list = []

    def cmd(self, cmd, *args, target=None):
        argv = [cmd] + (["-t", str(target)] if target is not None else []) + [str(a) for a in args]
        self.calls.append(argv)
        self.tmux_env.append(os.environ.get("TMUX"))
        if cmd == "load-buffer":
            with open(argv[-1], encoding="utf-8") as handle:
                self.loaded.append((oct(os.stat(argv[-1]).st_mode & 0o777), handle.read()))
        return given(self.answers.pop(0) if self.answers else Proc())


def given(answer):
    """A scripted answer: returned, or raised when it is an exception."""
    if isinstance(answer, BaseException):
        raise answer
    return answer


def driver(*answers) -> tuple:
    server = tmux.TmuxServer(SOCK)
    fake = FakeServer(list(answers))
    server._libtmux_server = fake
    return server, fake


# -- reads ------------------------------------------------------------------------------

def test_parse_panes_reads_every_field_and_skips_what_is_not_a_pane_line():
    out = ("w\t$4\t1700000000\t2\t1\t%9\t4242\tclaude\t0\t\t1700000099\t/p/agents.toml\tcodex codex node\tidle 1 2\t0123abcd\tmy\ttitle\n"
           "short\tline\n"
           "d\t$5\tnot-a-number\t0\t0\t%10\t0\tbash\t1\t137\t\t\t\t\t\t\n")
    sessions = tmux.parse_panes(out)
    assert sessions["w"].as_dict() == {
        "name": "w", "id": "$4", "created": 1700000000, "owner": "/p/agents.toml", "project_id": "0123abcd",
        "program": "codex codex node", "state": "idle 1 2",
        "panes": [{"id": "%9", "pid": 4242, "current_command": "claude", "dead": False, "dead_status": None,
                   "window_index": 2, "index": 1, "activity": 1700000099, "title": "my\ttitle",
                   "waiting": False}]}
    dead = sessions["d"].first_pane
    assert sessions["d"].created == 0 and (dead.dead, dead.dead_status, dead.activity) == (True, 137, 0)
    assert tmux.parse_panes("") == {} and tmux.Session("x", "$1", 0, []).first_pane is None


@pytest.mark.parametrize("socket, args, described", [
    ("", [], "the default tmux server"),
    ("loops", ["-L", "loops"], "tmux server -L loops"),
    (SOCK, ["-S", SOCK], WHERE),
])
def test_socket_arguments_and_description(socket, args, described):
    server = tmux.TmuxServer(socket)
    assert server.socket_args == args and server.describe() == described
    assert tmux.TmuxServer.from_socket_args(args).socket == socket
    assert tmux.TmuxServer.from_socket_args(["-x"]).socket == ""


def fake_capture(monkeypatch, answer):
    seen = []

    def capture(argv):
        seen.append(argv)
        return given(answer)

    monkeypatch.setattr(tmux, "capture", capture)
    return seen


def test_sessions_is_one_list_panes_call(monkeypatch):
    seen = fake_capture(monkeypatch, (0, "a\t$1\t1\t0\t0\t%1\t10\tsleep\t0\t\t1\t\t\t\t\t\n", ""))
    assert list(tmux.TmuxServer(SOCK).sessions()) == ["a"]
    assert seen == [["tmux", "-S", SOCK, "list-panes", "-a", "-F", tmux._FORMAT]]


@pytest.mark.parametrize("err", [NO_SERVER, "error connecting to %s (No such file or directory)" % SOCK,
                                 "server exited unexpectedly", "no current target"])
def test_no_server_or_an_empty_one_has_no_sessions(monkeypatch, err):
    fake_capture(monkeypatch, (1, "", err + "\n"))
    assert tmux.TmuxServer(SOCK).sessions() == {}


def test_read_failures_name_the_server(monkeypatch):
    fake_capture(monkeypatch, (1, "", "open terminal failed: not a terminal\n"))
    with pytest.raises(TmuxError, match="^%s: list-panes failed: open terminal failed: not a terminal$" % WHERE):
        tmux.TmuxServer(SOCK).sessions()
    fake_capture(monkeypatch, FileNotFoundError(2, "No such file or directory"))
    with pytest.raises(TmuxError, match="^%s: list-panes failed: cannot run tmux: No such file or directory$" % WHERE):
        tmux.TmuxServer(SOCK).sessions()


# -- errors and arguments -----------------------------------------------------------------

@pytest.mark.parametrize("stderr, kind", [
    ("duplicate session: w", TmuxSessionExists),
    ("can't find session: $9", TmuxNoSuchSession),
    ("can't find pane: %9", TmuxNoSuchSession),
    (NO_SERVER, TmuxNoServer),
    ("server exited unexpectedly", TmuxNoServer),
    ("unknown command: x", TmuxError),
])
def test_stderr_becomes_a_typed_error_naming_the_server(stderr, kind):
    error = tmux.error_for(WHERE, "cannot start session w", stderr + "\n")
    assert error.__class__ is kind and str(error) == "%s: cannot start session w: %s" % (WHERE, stderr)


@pytest.mark.parametrize("arg, sent", [("a", "a"), ("go on;", "go on\\;"), (";", "\\;"), ("x\\;", "x\\\\;"),
                                       ("a;b", "a;b")])
def test_arguments_ending_with_a_semicolon_are_escaped(arg, sent):
    assert tmux.literal(arg) == sent


# -- writes -----------------------------------------------------------------------------

def test_start_is_one_command_with_explicit_environment_and_owner_tag(monkeypatch):
    monkeypatch.setenv("TMUX", "/tmp/outer,1,0")
    server, fake = driver(Proc(stdout=["$7"]))
    sid = server.start("p-w", "run it;", "/srv/p", {"B": "2;", "A": "1"}, owner="/srv/p/agents.toml")
    assert sid == "$7"
    assert fake.calls == [["new-session", "-d", "-P", "-F", "#{session_id}", "-s", "p-w", "-c", "/srv/p",
                           "-x", "200", "-y", "50", "-eA=1", "-eB=2\\;", "run it\\;", ";",
                           "set-option", "-t", "=p-w:", "@agentloops_config", "/srv/p/agents.toml"]]
    assert fake.tmux_env == [None] and os.environ["TMUX"] == "/tmp/outer,1,0", "TMUX is not inherited"


def test_start_sizes_the_detached_window():
    server, fake = driver(Proc(stdout=["$1"]))
    server.start("w", "sleep 1", "/", {}, width=120, height=40)
    assert fake.calls[0][9:13] == ["-x", "120", "-y", "40"]


def test_start_without_owner_sets_no_option():
    server, fake = driver(Proc(stdout=["$1"]))
    server.start("w", "sleep 1", "/", {})
    assert fake.calls[0][-1] == "sleep 1" and ";" not in fake.calls[0]


def test_duplicate_start_is_a_typed_error():
    server, _fake = driver(Proc(1, stderr=["duplicate session: w"]))
    with pytest.raises(TmuxSessionExists, match="^%s: cannot start session w: duplicate session: w$" % WHERE):
        server.start("w", "sleep 1", "/", {})


def test_start_tries_again_while_the_server_exits(monkeypatch):
    naps = []
    monkeypatch.setattr(tmux.time, "sleep", naps.append)
    server, fake = driver(Proc(1, stderr=["server exited unexpectedly"]), Proc(1, stderr=[NO_SERVER]),
                          Proc(stdout=["$0"]))
    assert server.start("w", "sleep 1", "/", {}) == "$0"
    assert len(fake.calls) == 3 and naps == [0.05, 0.1]

    server, fake = driver(*[Proc(1, stderr=[NO_SERVER])] * tmux._START_ATTEMPTS)
    with pytest.raises(TmuxNoServer, match="cannot start session w: no server running"):
        server.start("w", "sleep 1", "/", {})
    assert len(fake.calls) == tmux._START_ATTEMPTS


def test_a_batch_that_creates_nothing_is_not_tried_again(monkeypatch):
    monkeypatch.setattr(tmux.time, "sleep", pytest.fail)
    server, fake = driver(Proc(1, stderr=[NO_SERVER]))
    with pytest.raises(TmuxNoServer):
        server.run_commands("cannot tag", [["set-option", "-t", "=a:", "@x", "1"],
                                           ["set-option", "-t", "=b:", "@x", "2"]])
    assert fake.calls == [["set-option", "-t", "=a:", "@x", "1", ";", "set-option", "-t", "=b:", "@x", "2"]]


@pytest.mark.parametrize("failure, message", [
    (OSError(13, "Permission denied"), "cannot run tmux: Permission denied"),
    (libtmux_exc.TmuxCommandNotFound(), "cannot run tmux: command not found"),
])
def test_tmux_that_cannot_run_is_a_tmux_error_naming_the_server(failure, message):
    server, _fake = driver(failure)
    with pytest.raises(TmuxError, match="^%s: cannot start session w: %s$" % (WHERE, message)):
        server.start("w", "sleep 1", "/", {})


def test_start_refuses_names_tmux_would_mangle():
    server, fake = driver()
    with pytest.raises(TmuxError, match="cannot start session a.b: .*periods"):
        server.start("a.b", "sleep 1", "/", {})
    assert fake.calls == []


def test_kill_is_by_id_only_and_gone_is_false():
    server, fake = driver(Proc(), Proc(1, stderr=["can't find session: $9"]), Proc(1, stderr=[NO_SERVER]))
    with pytest.raises(TmuxError, match=r"by id \(\$N\) only"):
        server.kill("w")
    assert server.kill("$3") is True and server.kill("$9") is False and server.kill("$4") is False
    assert fake.calls == [["kill-session", "-t", "$3"], ["kill-session", "-t", "$9"], ["kill-session", "-t", "$4"]]
    server, fake = driver(Proc(1, stderr=["lost server"]))
    with pytest.raises(TmuxError, match="^%s: cannot kill session \\$3: lost server$" % WHERE):
        server.kill("$3")


# -- panes ------------------------------------------------------------------------------

def test_capture_pane_is_the_screen_and_nothing_when_gone():
    server, fake = driver(Proc(stdout=["$ claude", "> working"]), Proc(1, stderr=["can't find pane: %2"]))
    assert server.capture_pane("%1") == "$ claude\n> working"
    assert server.capture_pane("%2") == ""
    assert fake.calls == [["capture-pane", "-t", "%1", "-p"], ["capture-pane", "-t", "%2", "-p"]]


def test_capture_history_reaches_into_the_scrollback_with_wrapped_lines_joined():
    server, fake = driver(Proc(stdout=["old line", "$ claude", "No conversation found"]), Proc(stdout=[]))
    assert server.capture_history("%3", 200) == "old line\n$ claude\nNo conversation found"
    assert server.capture_history("%4", 50) == ""
    assert fake.calls == [["capture-pane", "-t", "%3", "-p", "-S", "-200", "-J"],
                          ["capture-pane", "-t", "%4", "-p", "-S", "-50", "-J"]]


def test_send_keys_types_literally_then_enter_and_notices_a_gone_pane():
    server, fake = driver()
    server.send_keys("%1", "go on;")
    server.send_keys("%1", "Enter", enter=False)
    assert fake.calls == [["send-keys", "-t", "%1", "-l", "go on\\;"], ["send-keys", "-t", "%1", "Enter"],
                          ["send-keys", "-t", "%1", "-l", "Enter"]]
    server, fake = driver(Proc(1, stderr=["can't find pane: %1"]))
    with pytest.raises(TmuxNoSuchSession, match="^%s: send-keys failed: can't find pane: %%1$" % WHERE):
        server.send_keys("%1", "hello")
    assert len(fake.calls) == 1, "no Enter after a failed send"


def test_paste_goes_through_a_private_file_and_a_buffer_of_its_own():
    server, fake = driver()
    server.paste("%12", "line one\nline two;")
    assert fake.calls[0][:3] == ["load-buffer", "-b", "agentloops-12"]
    assert fake.loaded == [("0o600", "line one\nline two;")] and not os.path.exists(fake.calls[0][-1])
    assert fake.calls[1:] == [["paste-buffer", "-t", "%12", "-d", "-p", "-b", "agentloops-12"],
                              ["send-keys", "-t", "%12", "Enter"]]
    server, fake = driver(Proc(), Proc(1, stderr=["can't find pane: %12"]))
    with pytest.raises(TmuxNoSuchSession, match="paste-buffer failed: can't find pane"):
        server.paste("%12", "x")


def test_any_other_libtmux_failure_is_a_tmux_error_naming_the_server():
    # the watchdog survives TmuxError (an event, then a retry); a raw exception would end it
    server, _fake = driver(ValueError("odd answer"))
    with pytest.raises(TmuxError, match="^%s: .*odd answer" % WHERE):
        server.kill("$3")


# -- whose server it is --------------------------------------------------------------------

def bound_socket(path) -> None:
    """A unix socket file at ``path`` (no server behind it once closed)."""
    import socket as socket_mod

    with socket_mod.socket(socket_mod.AF_UNIX) as sock:
        sock.bind(str(path))


def test_a_socket_of_ours_in_a_private_folder_is_ours(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    bound_socket(folder / "t.sock")
    tmux.check_socket(str(folder / "t.sock"))
    tmux.check_socket(str(folder / "not-yet.sock"))  # tmux will create it, ours
    tmux.check_socket("/dev/null/agentloops-plan-only")  # no folder, no server: nothing to refuse


@pytest.mark.parametrize("make, why", [
    (lambda p: p.write_text("keep me\n"), "it exists and is not a socket (a file)"),
    (lambda p: p.mkdir(), "it exists and is not a socket (a folder)"),
    (lambda p: p.symlink_to(p.parent / "elsewhere"), "it exists and is not a socket (a symlink)"),
])
def test_a_path_that_is_not_a_socket_is_refused_and_left_alone(tmp_path, make, why):
    path = tmp_path / "t.sock"
    make(path)
    with pytest.raises(TmuxForeignServer, match="^refusing tmux socket %s: %s" % (path, re.escape(why))):
        tmux.check_socket(str(path))
    assert os.path.lexists(path)
    if path.is_file():
        assert path.read_text() == "keep me\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_another_users_socket_is_refused(tmp_path):
    path = tmp_path / "t.sock"
    bound_socket(path)
    os.chown(path, 65534, 65534)
    with pytest.raises(TmuxForeignServer, match=r"^refusing tmux socket %s: it is owned by uid 65534\b.*, not by the "
                                                r"caller \(uid 0\b.*someone else's$" % path):
        tmux.check_socket(str(path))


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder away needs root")
def test_a_folder_of_another_user_is_refused(tmp_path):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o755)
    os.chown(folder, 65534, 65534)
    with pytest.raises(TmuxForeignServer, match=r"its folder %s is owned by uid 65534" % folder):
        tmux.check_socket(str(folder / "t.sock"))


@pytest.mark.parametrize("mode, refused", [(0o777, True), (0o770, True), (0o1777, False), (0o755, False)])
def test_a_folder_others_can_write_needs_the_sticky_bit(tmp_path, mode, refused):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    bound_socket(folder / "t.sock")
    if refused:
        with pytest.raises(TmuxForeignServer, match=r"its folder %s \(mode %04o\) is writable by others without the "
                                                    r"sticky bit" % (folder, mode)):
            tmux.check_socket(str(folder / "t.sock"))
    else:
        tmux.check_socket(str(folder / "t.sock"))


def test_a_named_socket_is_checked_where_tmux_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TMUX_TMPDIR", str(tmp_path))
    assert tmux.socket_path("loops") == str(tmp_path / ("tmux-%d" % os.geteuid()) / "loops")
    assert tmux.socket_path("") == tmux.socket_path("default") == str(tmp_path / ("tmux-%d" % os.geteuid()) / "default")
    assert tmux.socket_path(SOCK) == SOCK
    private = tmp_path / ("tmux-%d" % os.geteuid())
    private.mkdir(mode=0o700)
    (private / "loops").write_text("")
    with pytest.raises(TmuxForeignServer, match="is not a socket"):
        tmux.TmuxServer("loops").sessions()


def test_a_refused_socket_is_neither_read_nor_written(tmp_path, monkeypatch):
    path = tmp_path / "t.sock"
    path.write_text("keep me\n")
    seen = fake_capture(monkeypatch, (0, "", ""))
    server = tmux.TmuxServer(str(path))
    server._libtmux_server = fake = FakeServer([])
    with pytest.raises(TmuxForeignServer):
        server.sessions()
    with pytest.raises(TmuxForeignServer):
        server.start("w", "sleep 1", str(tmp_path), {})
    with pytest.raises(TmuxForeignServer):
        server.kill("$1")
    assert seen == [] and fake.calls == [] and path.read_text() == "keep me\n"


def test_permission_denied_is_someone_elses_server_not_no_server(monkeypatch):
    fake_capture(monkeypatch, (1, "", "error connecting to %s (Permission denied)\n" % SOCK))
    with pytest.raises(TmuxForeignServer, match=r"list-panes failed: error connecting to .*\(Permission denied\)$"):
        tmux.TmuxServer(SOCK).sessions()


@pytest.mark.parametrize("override, chosen", [
    (None, "cfg"), ("", "cfg"), ("  ", "cfg"), ("default", "default"), ("loops", "loops"),
    ("/run/x.sock", "/run/x.sock"),
])
def test_a_blank_override_is_the_configs_server_and_default_is_explicit(override, chosen):
    assert tmux.choose_socket("cfg", override) == chosen
    assert tmux.choose_socket("", override) == ("" if chosen == "cfg" else chosen)


# -- batched starts ---------------------------------------------------------------------

def spec(name: str, pad: int = 0, **kwargs) -> tmux.NewSession:
    return tmux.NewSession(name, "sleep 1" + " " * pad, "/srv/p", {"AGENTLOOPS_AGENT": name}, "/srv/p/agents.toml",
                           options={"@agentloops_project": "0" * 32}, **kwargs)


def commands_of(call: list) -> list:
    """A chained tmux argv split back into its commands."""
    out: list = [[]]
    for arg in call:
        if arg == ";":
            out.append([])
        else:
            out[-1].append(arg)
    return out


def started_names(call: list) -> list:
    return [c[c.index("-s") + 1] for c in commands_of(call) if c[0] == "new-session"]


def test_small_starts_go_in_one_call_each_tagged_in_it():
    server, fake = driver(Proc(stdout=["$%d" % i for i in range(30)]))
    names = ["a%02d" % i for i in range(30)]
    assert server.start_many([spec(n, window_options={"remain-on-exit": "on"}) for n in names]) == \
        ["$%d" % i for i in range(30)]
    (call,) = fake.calls
    assert started_names(call) == names
    assert tmux.command_bytes(commands_of(call)) <= tmux._COMMAND_BYTES
    first = commands_of(call)[:4]
    assert first[1:] == [["set-option", "-t", "=a00:", "@agentloops_config", "/srv/p/agents.toml"],
                         ["set-option", "-t", "=a00:", "@agentloops_project", "0" * 32],
                         ["set-option", "-w", "-t", "=a00:", "remain-on-exit", "on"]]


def test_a_batch_is_cut_by_its_size_not_by_a_count():
    big = [spec("b%d" % i, pad=3000) for i in range(10)]  # ~3.2 KB each: three fit in 12 KiB
    small = [spec("s%d" % i) for i in range(30)]
    answers = [Proc(stdout=["$%d" % i for i in range(40)])] * 10
    server, fake = driver(*answers)
    ids = server.start_many(big + small)
    assert all(isinstance(i, str) for i in ids)
    sizes = [tmux.command_bytes(commands_of(call)) for call in fake.calls]
    assert all(size <= tmux._COMMAND_BYTES for size in sizes), sizes
    assert [len(started_names(call)) for call in fake.calls] == [3, 3, 3, 1 + 30]
    assert [n for call in fake.calls for n in started_names(call)] == [s.name for s in big + small]


def test_a_start_too_long_alone_is_still_tried_and_gets_tmux_s_refusal():
    server, fake = driver(Proc(stdout=["$1"]), Proc(1, stderr=["command too long"]), Proc(stdout=["$3"]))
    ids = server.start_many([spec("a"), spec("huge", pad=20000), spec("c")])
    assert ids[0] == "$1" and ids[2] == "$3"
    assert isinstance(ids[1], TmuxError) and str(ids[1]) == "%s: cannot start session huge: command too long" % WHERE
    assert [started_names(call) for call in fake.calls] == [["a"], ["huge"], ["c"]]


def test_a_duplicate_mid_batch_is_that_sessions_error_and_the_rest_start_after_it():
    """tmux stops the chained list at the failing new-session: the ids printed before it are
    the sessions made; the next call starts the ones after the duplicate."""
    server, fake = driver(Proc(1, stdout=["$1", "$2"], stderr=["duplicate session: c"]), Proc(stdout=["$4", "$5"]))
    ids = server.start_many([spec(n) for n in "abcde"])
    assert ids[:2] == ["$1", "$2"] and ids[3:] == ["$4", "$5"]
    assert isinstance(ids[2], TmuxSessionExists)
    assert str(ids[2]) == "%s: cannot start session c: duplicate session: c" % WHERE
    assert [started_names(call) for call in fake.calls] == [list("abcde"), ["d", "e"]]


def test_single_start_keeps_its_errors():
    server, _fake = driver(Proc(1, stderr=["duplicate session: w"]))
    with pytest.raises(TmuxSessionExists, match="^%s: cannot start session w: duplicate session: w$" % WHERE):
        server.start("w", "sleep 1", "/", {})


def test_another_failure_mid_batch_tags_the_last_made_again_then_tries_the_rest_alone():
    """Not a duplicate: the failing command may be a tag of the last session made (set again
    by its id) or the next new-session (each of the rest is then started alone)."""
    server, fake = driver(Proc(1, stdout=["$1"], stderr=["some failure"]), Proc(),
                          Proc(1, stderr=["create window failed"]), Proc(stdout=["$3"]))
    ids = server.start_many([spec(n) for n in "abc"])
    assert ids[0] == "$1" and ids[2] == "$3"
    assert str(ids[1]) == "%s: cannot start session b: create window failed" % WHERE
    assert commands_of(fake.calls[1]) == [["set-option", "-t", "$1:", "@agentloops_config", "/srv/p/agents.toml"],
                                          ["set-option", "-t", "$1:", "@agentloops_project", "0" * 32]]
    assert [started_names(call) for call in fake.calls[2:]] == [["b"], ["c"]]


def test_a_session_whose_tags_cannot_be_set_is_killed_never_left_untagged():
    server, fake = driver(Proc(1, stdout=["$1"], stderr=["bad option"]), Proc(1, stderr=["bad option"]), Proc())
    (result,) = server.start_many([spec("a")])
    assert isinstance(result, TmuxError) and str(result) == "%s: cannot start session a: bad option" % WHERE
    assert fake.calls[2][0] == "kill-session" and "$1" in fake.calls[2]


def test_a_server_that_cannot_be_reached_fails_every_start_at_once(monkeypatch):
    monkeypatch.setattr(tmux.time, "sleep", lambda _s: None)
    server, fake = driver(*[Proc(1, stderr=[NO_SERVER])] * tmux._START_ATTEMPTS)
    ids = server.start_many([spec(n) for n in "abc"])
    assert [type(i) for i in ids] == [TmuxNoServer] * 3
    assert str(ids[2]) == "%s: cannot start session c: %s" % (WHERE, NO_SERVER)
    assert len(fake.calls) == tmux._START_ATTEMPTS  # one batch tried while the server exits, not one per start


def test_a_name_tmux_would_mangle_is_its_own_error_in_a_batch():
    server, fake = driver(Proc(stdout=["$1", "$2"]))
    ids = server.start_many([spec("a"), spec("b.c"), spec("d")])
    assert ids[0] == "$1" and ids[2] == "$2" and "periods" in str(ids[1])
    assert started_names(fake.calls[0]) == ["a", "d"]
