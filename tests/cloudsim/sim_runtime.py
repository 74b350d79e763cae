"""What runs "inside" a simulated droplet: its root directory, files, user-data and processes.

A droplet is a directory (its root) plus the process groups started for it. Booting
writes the image's files under the root, runs the user-data (a #! script or the
#cloud-config keys write_files and runcmd), then starts the image's command (the
agent). Every process gets the environment variable DOSIM_DROPLET=<instance>:<id>,
which lets stop() find and kill even processes that left their process group
(setsid daemons), and lets tests prove that nothing is left behind.
"""

import base64
import ctypes
import os
import signal
import threading
import time

import sim_yaml

PR_SET_CHILD_SUBREAPER = 36

# Files the simulator itself writes under a droplet root; never copied into snapshots.
SIM_DIR = "var/lib/dosim"
LOG_DIR = "var/log/dosim"


def become_subreaper():
    """Orphans of droplet processes are re-parented to us, so we can reap them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except OSError:
        return False


class Reaper(threading.Thread):
    """Collects the exit status of every child (ours and adopted orphans)."""

    def __init__(self):
        super().__init__(name="reaper", daemon=True)
        self.status = {}
        self.stop_evt = threading.Event()

    def run(self):
        while not self.stop_evt.wait(0.1):
            self.reap()

    def reap(self):
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.status[pid] = st


def proc_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return False
    state = data[data.rfind(")") + 2:][:1]
    return state not in ("Z", "X", "")


def pgid_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group made only of zombies is dead for our purpose.
    for pid in pids_with(lambda p: _pgid_of(p) == pgid):
        if proc_alive(pid):
            return True
    return False


def _pgid_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        return int(data[data.rfind(")") + 2:].split()[2])
    except (OSError, ValueError, IndexError):
        return -1


def pids_with(pred):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            pid = int(name)
            try:
                if pred(pid):
                    out.append(pid)
            except OSError:
                pass
    return out


def pids_with_env(marker):
    """Live processes whose environment holds marker (e.g. DOSIM_DROPLET=abc:42)."""
    needle = marker.encode() + b"\0"

    def has(pid):
        if pid == os.getpid():
            return False
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read()
        except OSError:
            return False
        return (env.startswith(needle) or (b"\0" + needle) in env) and proc_alive(pid)
    return pids_with(has)


def kill_groups(pgids, marker, grace, log=None):
    """SIGTERM every group and every process carrying marker, SIGKILL what survives grace."""
    def targets():
        groups = [g for g in pgids if pgid_alive(g)]
        strays = [p for p in pids_with_env(marker) if _pgid_of(p) not in groups]
        return groups, strays

    groups, strays = targets()
    if not groups and not strays:
        return True
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for g in groups:
            try:
                os.killpg(g, sig)
            except (ProcessLookupError, PermissionError):
                pass
        for p in strays:
            try:
                os.kill(p, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 2.0)
        while time.monotonic() < deadline:
            groups, strays = targets()
            if not groups and not strays:
                return True
            time.sleep(0.05)
        if log and sig == signal.SIGTERM:
            log("processes survived SIGTERM for %.1fs, sending SIGKILL" % grace)
    groups, strays = targets()
    return not groups and not strays


def substitute(arg, values):
    """Replace {name} placeholders; unknown names raise KeyError; {{ and }} are literal braces."""
    out, k = [], 0
    while k < len(arg):
        c = arg[k]
        if c == "{" and arg.startswith("{{", k):
            out.append("{")
            k += 2
        elif c == "}" and arg.startswith("}}", k):
            out.append("}")
            k += 2
        elif c == "{":
            end = arg.find("}", k)
            if end < 0:
                out.append(arg[k:])
                break
            name = arg[k + 1:end]
            if name not in values:
                raise KeyError(name)
            out.append(str(values[name]))
            k = end + 1
        else:
            out.append(c)
            k += 1
    return "".join(out)


def safe_join(root, path):
    """Map an absolute droplet path to a host path under root, refusing escapes."""
    rel = os.path.normpath("/" + path.lstrip("/")).lstrip("/")
    if rel in ("", ".") or rel.startswith(".."):
        raise ValueError("bad path %r" % path)
    return os.path.join(root, rel)


def write_file(root, path, content, mode):
    host = safe_join(root, path)
    os.makedirs(os.path.dirname(host), exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    tmp = host + ".dosim-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, host)
    return host


def file_entry_bytes(entry):
    if "content_b64" in entry:
        return base64.b64decode(entry["content_b64"])
    return (entry.get("content") or "").encode()


def parse_mode(val, default=0o644):
    if val is None:
        return default
    if isinstance(val, int):
        return val
    s = str(val).strip()
    return int(s, 8) if s else default


def _walk_disk(root):
    """(directory, relative path, file names) under root, the simulator's own left out."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir in (SIM_DIR, LOG_DIR) or rel_dir.startswith((SIM_DIR + "/", LOG_DIR + "/")):
            dirnames[:] = []
            continue
        yield dirpath, rel_dir, filenames


def capture_dirs(root):
    """Every directory under root but the simulator's own, with its mode: a disk image
    keeps them (an agent refuses a state_dir that group or others may use)."""
    return {"/" + rel: "%04o" % (os.stat(path).st_mode & 0o7777) for path, rel, _ in _walk_disk(root) if rel != "."}


def restore_dirs(root, dirs):
    """Creates the snapshot's directories with their modes, parents first."""
    for path in sorted(dirs):
        host = safe_join(root, path)
        os.makedirs(host, exist_ok=True)
        os.chmod(host, parse_mode(dirs[path]))


def capture_files(root, limit=4 << 20):
    """Every regular file under root except the simulator's own, as snapshot entries."""
    files = {}
    for dirpath, _, filenames in _walk_disk(root):
        for fn in filenames:
            host = os.path.join(dirpath, fn)
            if os.path.islink(host) or not os.path.isfile(host):
                continue
            st = os.stat(host)
            if st.st_size > limit:
                continue
            with open(host, "rb") as f:
                data = f.read()
            path = "/" + os.path.relpath(host, root)
            mode = st.st_mode & 0o7777
            try:
                files[path] = {"content": data.decode("utf-8"), "mode": "%04o" % mode}
            except UnicodeDecodeError:
                files[path] = {"content_b64": base64.b64encode(data).decode(), "mode": "%04o" % mode}
    return files


class CloudConfigError(ValueError):
    pass


def parse_cloud_config(text):
    """Return (write_files list, runcmd list of argv-or-string, ignored keys)."""
    try:
        doc = sim_yaml.parse(text)
    except sim_yaml.YamlError as e:
        raise CloudConfigError(str(e))
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise CloudConfigError("cloud-config is not a mapping")
    wf = doc.get("write_files") or []
    rc = doc.get("runcmd") or []
    if not isinstance(wf, list) or not isinstance(rc, list):
        raise CloudConfigError("write_files and runcmd must be lists")
    files = []
    for item in wf:
        if not isinstance(item, dict) or not item.get("path"):
            raise CloudConfigError("write_files entry without path")
        content = item.get("content") or ""
        enc = (item.get("encoding") or "").lower()
        if enc in ("b64", "base64"):
            data = base64.b64decode(content)
        elif enc in ("", "text/plain"):
            data = content.encode()
        else:
            raise CloudConfigError("unsupported write_files encoding %r" % enc)
        files.append({"path": item["path"], "data": data,
                      "mode": parse_mode(item.get("permissions"), 0o644),
                      "append": str(item.get("append") or "").lower() == "true"})
    cmds = []
    for c in rc:
        if isinstance(c, list):
            cmds.append([str(x) for x in c])
        elif isinstance(c, str):
            cmds.append(c)
        else:
            raise CloudConfigError("runcmd entry must be a string or a list")
    ignored = sorted(k for k in doc if k not in ("write_files", "runcmd", "power_state"))
    return files, cmds, ignored


def parse_power_state(text):
    """cloud-init's power_state of a #cloud-config: "poweroff", "halt", "reboot" or None (absent,
    or its condition is false). The droplet then does it once the user-data has run."""
    try:
        doc = sim_yaml.parse(text)
    except sim_yaml.YamlError:
        return None
    ps = doc.get("power_state") if isinstance(doc, dict) else None
    if not isinstance(ps, dict):
        return None
    if str(ps.get("condition", "true")).lower() in ("false", "0", "no"):
        return None
    mode = ps.get("mode")
    return mode if mode in ("poweroff", "halt", "reboot") else None
