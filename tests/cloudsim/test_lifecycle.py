"""Droplet life cycle: boot timing, metadata, user-data, snapshots, actions, process clean-up."""

import json
import os
import time
import unittest
import urllib.request

import sim_runtime as rt
from simtest import SimTestCase, fake_snapshot


def fetch(url):
    req = urllib.request.Request(url)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=5) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


def agent_report(sim, did, timeout=10):
    def read():
        d = sim.droplet_state(did)
        p = os.path.join(d["sim"]["root"], "var/lib/fake-agent.json")
        try:
            with open(p) as f:
                rep = json.load(f)
            # A clone's disk starts with its source's report: wait for our own.
            return rep if rep["metadata"]["droplet_id"] == did else None
        except (OSError, ValueError):
            return None
    return sim.wait(read, timeout, what="fake agent report of %d" % did)


class TestLifecycle(SimTestCase):
    def test_boot_timing_and_ips(self):
        sim = self.start_sim("--boot-delay", "1.0")
        t0 = time.monotonic()
        r = sim.api("POST", "/v2/droplets", {"name": "web-1", "size": "s-1vcpu-1gb", "image": sim.images[0],
                                             "tags": ["mitosis"]})
        self.assertEqual(r.status, 202)
        d = r.json["droplet"]
        self.assertEqual(d["status"], "new")
        self.assertEqual(d["networks"], {"v4": [], "v6": []})
        aid = r.json["links"]["actions"][0]["id"]
        self.assertEqual(r.json["links"]["actions"][0]["rel"], "create")
        got = sim.api("GET", "/v2/droplets/%d" % d["id"]).json["droplet"]
        if time.monotonic() - t0 < 0.9:
            self.assertEqual(got["status"], "new")
            self.assertEqual(got["networks"]["v4"], [])
            self.assertEqual(sim.api("GET", "/v2/actions/%d" % aid).json["action"]["status"], "in-progress")
        sim.wait_active(d["id"], timeout=5)
        self.assertGreaterEqual(time.monotonic() - t0, 0.95)
        got = sim.api("GET", "/v2/droplets/%d" % d["id"]).json["droplet"]
        v4 = {n["type"]: n["ip_address"] for n in got["networks"]["v4"]}
        self.assertTrue(v4["public"].startswith("127.77."), v4)
        self.assertTrue(v4["private"].startswith("127.78."), v4)
        self.assertEqual(v4["public"].split(".")[2:], v4["private"].split(".")[2:])
        act = sim.api("GET", "/v2/actions/%d" % aid).json["action"]
        self.assertEqual((act["status"], act["type"], act["resource_id"]), ("completed", "create", d["id"]))
        self.assertIsNotNone(act["completed_at"])
        rep = agent_report(sim, d["id"])
        self.assertEqual(rep["metadata"]["droplet_id"], d["id"])
        self.assertEqual(rep["metadata"]["hostname"], "web-1")
        self.assertEqual(rep["metadata"]["interfaces"]["private"][0]["ipv4"]["ip_address"], v4["private"])
        self.assertEqual(rep["metadata"]["tags"], ["mitosis"])

    def test_two_droplets_get_distinct_addresses_and_own_metadata(self):
        sim = self.start_sim("--boot-delay", "0.2")
        r = sim.api("POST", "/v2/droplets", {"names": ["m1", "m2"], "size": "s-1vcpu-1gb", "image": sim.images[0]})
        ids = [d["id"] for d in r.json["droplets"]]
        reps = [agent_report(sim, i) for i in ids]
        self.assertEqual([x["metadata"]["droplet_id"] for x in reps], ids)
        self.assertEqual([x["metadata"]["hostname"] for x in reps], ["m1", "m2"])
        addrs = {x["metadata"]["interfaces"]["public"][0]["ipv4"]["ip_address"] for x in reps}
        self.assertEqual(len(addrs), 2)
        for a in addrs:
            self.assertNotIn(a, ("127.0.0.1", "127.0.0.53"))

    def test_metadata_paths(self):
        sim = self.start_sim("--boot-delay", "0.1")
        did = sim.create("md-1", tags=["a", "b:c"], user_data="hello")
        sim.wait_active(did)
        st = sim.droplet_state(did)
        base = st["sim"]["metadata_url"]
        self.assertEqual(fetch(base + "/metadata/v1/id")[:2], (200, str(did)))
        self.assertEqual(fetch(base + "/metadata/v1/hostname")[:2], (200, "md-1"))
        self.assertEqual(fetch(base + "/metadata/v1/region")[:2], (200, "nyc3"))
        self.assertEqual(fetch(base + "/metadata/v1/user-data")[:2], (200, "hello"))
        self.assertEqual(fetch(base + "/metadata/v1/tags/")[:2], (200, "a\nb:c"))
        st301 = fetch(base + "/metadata/v1/tags")
        self.assertEqual(st301[0], 301)
        self.assertEqual(st301[2]["Location"], "/metadata/v1/tags/")
        self.assertEqual(fetch(base + "/metadata/v1/interfaces/private/0/ipv4/address")[:2],
                         (200, st["sim"]["private_ipv4"]))
        self.assertEqual(fetch(base + "/metadata/v1/interfaces/public/0/ipv4/address")[:2],
                         (200, st["sim"]["public_ipv4"]))
        self.assertEqual(fetch(base + "/metadata/v1/interfaces/public/0/type")[:2], (200, "public"))
        self.assertIn("ipv4/", fetch(base + "/metadata/v1/interfaces/private/0/")[1].split("\n"))
        self.assertEqual(fetch(base + "/metadata/v1/nope")[0], 404)
        code, body, hdr = fetch(base + "/metadata/v1.json")
        self.assertEqual(code, 200)
        md = json.loads(body)
        self.assertEqual((md["droplet_id"], md["hostname"], md["region"], md["user_data"], md["tags"]),
                         (did, "md-1", "nyc3", "hello", ["a", "b:c"]))
        self.assertEqual(md["interfaces"]["public"][0]["ipv4"]["ip_address"], st["sim"]["public_ipv4"])
        self.assertTrue(any(e["path"] == "/metadata/v1/id" for e in sim.state()["metadata_log"]))

    def test_user_data_shell_script(self):
        sim = self.start_sim("--boot-delay", "0.1")
        ud = "#!/bin/sh\necho \"id=$MITOSIS_SIM_DROPLET_ID pwd=$(pwd)\" > script-ran.txt\nmkdir -p etc/app\n" \
             "echo conf > etc/app/app.conf\necho to-log\n"
        did = sim.create("ud-sh", user_data=ud)
        sim.wait_active(did)
        st = sim.wait(lambda: (sim.droplet_state(did)["sim"]["user_data_result"] or None), what="user-data")
        self.assertEqual(st, {"kind": "script", "exit_codes": [0]})
        root = sim.droplet_state(did)["sim"]["root"]
        with open(os.path.join(root, "script-ran.txt")) as f:
            self.assertEqual(f.read(), "id=%d pwd=%s\n" % (did, root))
        with open(sim.droplet_state(did)["sim"]["user_data_log"]) as f:
            self.assertIn("to-log", f.read())

    def test_user_data_cloud_config(self):
        sim = self.start_sim("--boot-delay", "0.1")
        ud = """#cloud-config
# comment
package_update: true
write_files:
  - path: /etc/mitosis/extra.conf
    permissions: '0600'
    content: |
      scale_up = 0.8
      scale_down = 0.2
  - path: /opt/flag
    content: "x\\ty"
runcmd:
  - echo one > "$MITOSIS_SIM_ROOT/runcmd-1.txt"
  - [sh, -c, 'echo two > runcmd-2.txt']
  -
    - sh
    - -c
    - echo three > runcmd-3.txt
"""
        did = sim.create("ud-cc", user_data=ud)
        res = sim.wait(lambda: sim.droplet_state(did)["sim"]["user_data_result"], what="user-data")
        self.assertEqual(res["kind"], "cloud-config")
        self.assertEqual(res["files"], ["/etc/mitosis/extra.conf", "/opt/flag"])
        self.assertEqual(res["exit_codes"], [0, 0, 0])
        self.assertEqual(res["ignored_keys"], ["package_update"])
        root = sim.droplet_state(did)["sim"]["root"]
        p = os.path.join(root, "etc/mitosis/extra.conf")
        with open(p) as f:
            self.assertEqual(f.read(), "scale_up = 0.8\nscale_down = 0.2\n")
        self.assertEqual(os.stat(p).st_mode & 0o777, 0o600)
        with open(os.path.join(root, "opt/flag")) as f:
            self.assertEqual(f.read(), "x\ty")
        for i, word in ((1, "one"), (2, "two"), (3, "three")):
            with open(os.path.join(root, "runcmd-%d.txt" % i)) as f:
                self.assertEqual(f.read(), word + "\n")
        with open(sim.droplet_state(did)["sim"]["user_data_log"]) as f:
            self.assertIn("ignoring unsupported cloud-config keys: package_update", f.read())
        # Snapshot files land with their recorded modes too.
        self.assertEqual(os.stat(os.path.join(root, "etc/mitosis/cluster.key")).st_mode & 0o777, 0o600)

    def test_snapshot_of_running_droplet_boots_clones(self):
        sim = self.start_sim("--boot-delay", "0.1", "--action-delay", "0.3")
        ud = "#cloud-config\nwrite_files:\n  - path: /etc/app/baked.txt\n    content: baked\n"
        src = sim.create("golden", user_data=ud)
        agent_report(sim, src)
        # A private directory made on the running droplet keeps its mode in the image.
        os.makedirs(os.path.join(sim.droplet_state(src)["sim"]["root"], "var/lib/app"), mode=0o700)
        r = sim.api("POST", "/v2/droplets/%d/actions" % src, {"type": "snapshot", "name": "golden-1"})
        self.assertEqual(r.status, 201)
        self.assertEqual(r.json["action"]["status"], "in-progress")
        self.assertEqual(r.json["action"]["type"], "snapshot")
        aid = r.json["action"]["id"]
        self.assertError(sim.api("POST", "/v2/droplets/%d/actions" % src, {"type": "power_off"}), 422,
                         "unprocessable_entity", "Droplet already has a pending event.")
        self.assertEqual(sim.wait_action(src, aid)["status"], "completed")
        snaps = sim.api("GET", "/v2/droplets/%d/snapshots" % src).json
        self.assertEqual(snaps["meta"]["total"], 1)
        sid = snaps["snapshots"][0]["id"]
        self.assertEqual(snaps["snapshots"][0]["name"], "golden-1")
        self.assertEqual(sim.api("GET", "/v2/droplets/%d" % src).json["droplet"]["snapshot_ids"], [sid])
        priv = sim.api("GET", "/v2/images?private=true").json
        self.assertIn(sid, [i["id"] for i in priv["images"]])
        self.assertEqual([i for i in priv["images"] if i["id"] == sid][0]["type"], "snapshot")
        self.assertEqual(sim.api("GET", "/v2/images/%d" % sid).json["image"]["name"], "golden-1")
        ss = sim.api("GET", "/v2/snapshots?resource_type=droplet").json["snapshots"]
        self.assertEqual([(x["id"], x["resource_id"]) for x in ss if x["name"] == "golden-1"], [(str(sid), str(src))])
        clone = sim.create("clone-1", image=sid)
        rep = agent_report(sim, clone)
        self.assertEqual(rep["metadata"]["droplet_id"], clone)
        root = sim.droplet_state(clone)["sim"]["root"]
        with open(os.path.join(root, "etc/app/baked.txt")) as f:
            self.assertEqual(f.read(), "baked")
        self.assertEqual(os.stat(os.path.join(root, "var/lib/app")).st_mode & 0o777, 0o700)
        self.assertEqual(sim.droplet_state(clone)["sim"]["user_data_result"], {"kind": "none"})
        self.assertEqual(sim.api("GET", "/v2/droplets/%d" % clone).json["droplet"]["image"]["id"], sid)

    def test_delete_stops_processes(self):
        sim = self.start_sim("--boot-delay", "0.1", "--kill-grace", "1",
                             snapshots=[fake_snapshot(["--spawn-daemon"])])
        did = sim.create("victim")
        rep = agent_report(sim, did)
        pid = rep["pid"]
        marker = sim.droplet_state(did)["sim"]["marker"]
        sim.wait(lambda: len(rt.pids_with_env(marker)) >= 2, what="agent and its daemon")
        self.assertTrue(rt.proc_alive(pid))
        root = sim.droplet_state(did)["sim"]["root"]
        self.assertEqual(sim.api("DELETE", "/v2/droplets/%d" % did).status, 204)
        self.assertError(sim.api("GET", "/v2/droplets/%d" % did), 404, "not_found")
        sim.wait(lambda: not rt.pids_with_env(marker), timeout=5, what="droplet processes gone")
        self.assertFalse(rt.proc_alive(pid))
        sim.wait(lambda: not os.path.exists(root), timeout=5, what="droplet root removed")

    def test_sigterm_ignored_gets_sigkill(self):
        sim = self.start_sim("--boot-delay", "0.1", "--kill-grace", "0.5",
                             snapshots=[fake_snapshot(["--ignore-term"])])
        did = sim.create("stubborn")
        pid = agent_report(sim, did)["pid"]
        t0 = time.monotonic()
        sim.api("DELETE", "/v2/droplets/%d" % did)
        sim.wait(lambda: not rt.proc_alive(pid), timeout=5, what="SIGKILL")
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)

    def test_power_off_and_on(self):
        sim = self.start_sim("--boot-delay", "0.1", "--action-delay", "0.3")
        did = sim.create("pw")
        pid = agent_report(sim, did)["pid"]
        r = sim.api("POST", "/v2/droplets/%d/actions" % did, {"type": "power_off"})
        self.assertEqual(r.status, 201)
        self.assertEqual(sim.wait_action(did, r.json["action"]["id"])["status"], "completed")
        self.assertEqual(sim.api("GET", "/v2/droplets/%d" % did).json["droplet"]["status"], "off")
        sim.wait(lambda: not rt.proc_alive(pid), timeout=5, what="agent stopped by power_off")
        root = sim.droplet_state(did)["sim"]["root"]
        os.unlink(os.path.join(root, "var/lib/fake-agent.json"))
        r = sim.api("POST", "/v2/droplets/%d/actions" % did, {"type": "power_on"})
        sim.wait_action(did, r.json["action"]["id"])
        self.assertEqual(sim.api("GET", "/v2/droplets/%d" % did).json["droplet"]["status"], "active")
        rep = agent_report(sim, did)
        self.assertNotEqual(rep["pid"], pid)
        self.assertEqual(sim.droplet_state(did)["sim"]["boot_count"], 2)

    def test_shutdown_resize_and_action_listing(self):
        sim = self.start_sim("--boot-delay", "0.1", "--action-delay", "0.2")
        did = sim.create("rs")
        sim.wait_active(did)
        self.assertError(sim.api("POST", "/v2/droplets/%d/actions" % did, {"type": "resize", "size": "nope"}),
                         422, "unprocessable_entity")
        r = sim.api("POST", "/v2/droplets/%d/actions" % did, {"type": "shutdown"})
        sim.wait_action(did, r.json["action"]["id"])
        self.assertEqual(sim.api("GET", "/v2/droplets/%d" % did).json["droplet"]["status"], "off")
        r = sim.api("POST", "/v2/droplets/%d/actions" % did, {"type": "resize", "size": "s-2vcpu-4gb", "disk": False})
        self.assertEqual(r.status, 201)
        sim.wait_action(did, r.json["action"]["id"])
        d = sim.api("GET", "/v2/droplets/%d" % did).json["droplet"]
        self.assertEqual((d["size_slug"], d["memory"], d["vcpus"]), ("s-2vcpu-4gb", 4096, 2))
        acts = sim.api("GET", "/v2/droplets/%d/actions" % did).json
        self.assertEqual([a["type"] for a in acts["actions"]], ["resize", "shutdown", "create"])
        self.assertError(sim.api("POST", "/v2/droplets/%d/actions" % did, {"type": "teleport"}), 422,
                         "unprocessable_entity")

    def test_bulk_action_by_tag(self):
        sim = self.start_sim("--boot-delay", "0.1", "--action-delay", "0.2")
        ids = [sim.create("b%d" % i, tags=["grp"]) for i in range(2)]
        other = sim.create("o")
        for i in ids + [other]:
            sim.wait_active(i)
        r = sim.api("POST", "/v2/droplets/actions?tag_name=grp", {"type": "power_off"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(sorted(a["resource_id"] for a in r.json["actions"]), ids)
        self.assertError(sim.api("POST", "/v2/droplets/actions?tag_name=grp", {"type": "power_on"}), 422,
                         "unprocessable_entity", "Droplet already has a pending event.")
        for a in r.json["actions"]:
            sim.wait_action(a["resource_id"], a["id"])
        st = {d["id"]: d["status"] for d in sim.api("GET", "/v2/droplets").json["droplets"]}
        self.assertEqual(st, {ids[0]: "off", ids[1]: "off", other: "active"})
        self.assertError(sim.api("POST", "/v2/droplets/actions?tag_name=grp", {"type": "resize"}), 422,
                         "unprocessable_entity")

    def test_action_on_booting_droplet_is_422(self):
        sim = self.start_sim("--boot-delay", "30")
        did = sim.create("slow")
        self.assertError(sim.api("POST", "/v2/droplets/%d/actions" % did, {"type": "power_off"}), 422,
                         "unprocessable_entity", "Droplet already has a pending event.")

    def test_placeholders_and_unknown_placeholder(self):
        snap = fake_snapshot()
        snap["command"] += ["--bind", "{private_ipv4}"]
        bad = {"name": "bad", "files": {}, "command": ["{nosuch}", "x"]}
        sim = self.start_sim("--boot-delay", "0.1", snapshots=[snap, bad])
        did = sim.create("ph")
        rep = agent_report(sim, did)
        st = sim.droplet_state(did)
        self.assertIn(st["sim"]["private_ipv4"], rep["argv"])
        self.assertIn(st["sim"]["metadata_url"], rep["argv"])
        bid = sim.create("bad", image=sim.images[1])
        sim.wait(lambda: sim.droplet_state(bid)["sim"]["boot_error"], what="boot error")
        self.assertEqual(sim.droplet_state(bid)["sim"]["boot_error"],
                         "unknown placeholder {nosuch} in the image command")

    def test_logs_reachable(self):
        sim = self.start_sim("--boot-delay", "0.1")
        did = sim.create("logs")
        agent_report(sim, did)
        r = sim.wait(lambda: (lambda x: x if b"identity: droplet_id=%d" % did in x.raw else None)(
            sim.control("GET", "/droplets/%d/log/agent" % did)), what="agent log")
        self.assertIn(b'hostname="logs"', r.raw)


if __name__ == "__main__":
    unittest.main()
