"""The /v2 API surface: auth, errors, pagination, limits, domains, load balancers, tags, account, sizes."""

import time
import unittest
from urllib.parse import parse_qs, urlsplit

from simtest import SimTestCase


class TestApi(SimTestCase):
    def test_401_without_or_with_wrong_token(self):
        sim = self.start_sim("--boot-delay", "30")
        for tok in ("", "wrong"):
            r = sim.api("GET", "/v2/account", token=tok)
            self.assertError(r, 401, "unauthorized", "Unable to authenticate you")
            for h in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
                self.assertIn(h, r.headers)

    def test_404_shapes(self):
        sim = self.start_sim("--boot-delay", "30")
        self.assertError(sim.api("GET", "/v2/droplets/123"), 404, "not_found")
        self.assertError(sim.api("DELETE", "/v2/droplets/123"), 404, "not_found")
        self.assertError(sim.api("GET", "/v2/nothing-here"), 404, "not_found")
        self.assertError(sim.api("GET", "/v2/domains/nope.example/records"), 404, "not_found")
        self.assertError(sim.api("GET", "/v2/load_balancers/x"), 404, "not_found")

    def test_ratelimit_headers_count_down(self):
        sim = self.start_sim("--boot-delay", "30", "--rate-limit", "100")
        before = int(time.time())
        r1 = sim.api("GET", "/v2/account")
        r2 = sim.api("GET", "/v2/sizes")
        self.assertEqual(r1.headers["ratelimit-limit"], "100")
        self.assertEqual(r1.headers["ratelimit-remaining"], "99")
        self.assertEqual(r2.headers["ratelimit-remaining"], "98")
        reset = int(r2.headers["ratelimit-reset"])
        self.assertTrue(before + 3600 <= reset <= before + 3602, reset)

    def test_429_burst_with_retry_after(self):
        sim = self.start_sim("--boot-delay", "30", "--burst-limit", "5", "--burst-window", "3")
        for _ in range(5):
            self.assertEqual(sim.api("GET", "/v2/account").status, 200)
        r = sim.api("GET", "/v2/account")
        self.assertError(r, 429, "too_many_requests", "API rate limit exceeded.")
        self.assertIn(r.headers["retry-after"], ("1", "2", "3"))
        time.sleep(int(r.headers["retry-after"]) + 0.1)
        self.assertEqual(sim.api("GET", "/v2/account").status, 200)

    def test_429_hourly_limit(self):
        sim = self.start_sim("--boot-delay", "30", "--rate-limit", "3")
        for _ in range(3):
            self.assertEqual(sim.api("GET", "/v2/sizes").status, 200)
        r = sim.api("GET", "/v2/sizes")
        self.assertError(r, 429, "too_many_requests")
        self.assertEqual(r.headers["ratelimit-remaining"], "0")
        # Another token has its own window.
        self.assertEqual(sim.api("GET", "/v2/sizes", token="other").status, 401)

    def test_account_and_sizes(self):
        sim = self.start_sim("--boot-delay", "30", "--droplet-limit", "7")
        acc = sim.api("GET", "/v2/account").json["account"]
        self.assertEqual(acc["droplet_limit"], 7)
        self.assertEqual(acc["status"], "active")
        sizes = sim.api("GET", "/v2/sizes?per_page=200").json
        slugs = {s["slug"]: s for s in sizes["sizes"]}
        self.assertEqual(sizes["meta"]["total"], len(sizes["sizes"]))
        self.assertEqual(slugs["s-1vcpu-1gb"]["price_monthly"], 6.0)
        self.assertAlmostEqual(slugs["s-1vcpu-1gb"]["price_hourly"], 6.0 / 672, places=4)

    def test_pagination_250_droplets(self):
        sim = self.start_sim("--boot-delay", "120", "--droplet-limit", "300")
        for batch in range(25):
            names = ["p-%d-%d" % (batch, i) for i in range(10)]
            r = sim.api("POST", "/v2/droplets", {"names": names, "size": "s-1vcpu-1gb",
                                                  "image": "debian-12-x64", "tags": ["pg"]})
            self.assertEqual(r.status, 202, r)
            self.assertEqual(len(r.json["droplets"]), 10)
            self.assertEqual(len(r.json["links"]["actions"]), 10)
        p1 = sim.api("GET", "/v2/droplets?per_page=200&tag_name=pg").json
        self.assertEqual(p1["meta"]["total"], 250)
        self.assertEqual(len(p1["droplets"]), 200)
        nxt = p1["links"]["pages"]["next"]
        q = parse_qs(urlsplit(nxt).query)
        self.assertEqual(q["page"], ["2"])
        self.assertEqual(q["per_page"], ["200"])
        self.assertEqual(q["tag_name"], ["pg"])
        self.assertNotIn("prev", p1["links"]["pages"])
        p2 = sim.api("GET", nxt).json
        self.assertEqual(len(p2["droplets"]), 50)
        self.assertNotIn("next", p2["links"]["pages"])
        self.assertIn("prev", p2["links"]["pages"])
        ids = [d["id"] for d in p1["droplets"] + p2["droplets"]]
        self.assertEqual(len(set(ids)), 250)
        # per_page above 200 is clamped, the default is 20.
        self.assertEqual(len(sim.api("GET", "/v2/droplets?per_page=500").json["droplets"]), 200)
        self.assertEqual(len(sim.api("GET", "/v2/droplets").json["droplets"]), 20)
        # Delete by tag removes all of them.
        self.assertEqual(sim.api("DELETE", "/v2/droplets?tag_name=pg").status, 204)
        self.assertEqual(sim.api("GET", "/v2/droplets").json["meta"]["total"], 0)

    def test_create_validation_and_droplet_limit(self):
        sim = self.start_sim("--boot-delay", "30", "--droplet-limit", "3")
        base = {"size": "s-1vcpu-1gb", "image": sim.images[0]}
        self.assertError(sim.api("POST", "/v2/droplets", dict(base, name="bad_name")), 422, "unprocessable_entity")
        self.assertError(sim.api("POST", "/v2/droplets", dict(base, name="a", size="nope")), 422,
                         "unprocessable_entity", "You specified an invalid size for Droplet creation.")
        self.assertError(sim.api("POST", "/v2/droplets", dict(base, name="a", image="9")), 422,
                         "unprocessable_entity", "You specified an invalid image for Droplet creation.")
        self.assertError(sim.api("POST", "/v2/droplets", dict(base, names=["n%d" % i for i in range(11)])),
                         422, "unprocessable_entity")
        self.assertEqual(sim.api("POST", "/v2/droplets", dict(base, names=["a", "b"])).status, 202)
        r = sim.api("POST", "/v2/droplets", dict(base, names=["c", "d"]))
        self.assertError(r, 422, "unprocessable_entity",
                         "creating this/these droplet(s) will exceed your droplet limit")
        self.assertEqual(sim.api("POST", "/v2/droplets", dict(base, name="c")).status, 202)
        self.assertError(sim.api("POST", "/v2/droplets", dict(base, name="e")), 422, "unprocessable_entity")
        # The limit can move at run time.
        sim.control("POST", "/config", {"droplet_limit": 4})
        self.assertEqual(sim.api("GET", "/v2/account").json["account"]["droplet_limit"], 4)
        self.assertEqual(sim.api("POST", "/v2/droplets", dict(base, name="e")).status, 202)

    def test_list_filters(self):
        sim = self.start_sim("--boot-delay", "30")
        a = sim.create("Alpha", tags=["x"])
        sim.create("beta", tags=["y"])
        lst = sim.api("GET", "/v2/droplets?name=alpha").json
        self.assertEqual([d["id"] for d in lst["droplets"]], [a])
        self.assertEqual([d["id"] for d in sim.api("GET", "/v2/droplets?tag_name=x").json["droplets"]], [a])
        self.assertError(sim.api("GET", "/v2/droplets?tag_name=x&name=alpha"), 422, "unprocessable_entity")

    def test_domains_and_records(self):
        sim = self.start_sim("--boot-delay", "30", "--domain", "example.com")
        r = sim.api("POST", "/v2/domains/example.com/records",
                    {"type": "A", "name": "www", "data": "127.77.1.1", "ttl": 60})
        self.assertEqual(r.status, 201, r)
        rec = r.json["domain_record"]
        self.assertEqual((rec["name"], rec["type"], rec["data"], rec["ttl"]), ("www", "A", "127.77.1.1", 60))
        for k in ("priority", "port", "weight", "flags", "tag"):
            self.assertIn(k, rec)
        r2 = sim.api("POST", "/v2/domains/example.com/records",
                     {"type": "A", "name": "www", "data": "127.77.1.2", "ttl": 60}).json["domain_record"]
        sim.api("POST", "/v2/domains/example.com/records", {"type": "A", "name": "api", "data": "127.77.1.3",
                                                            "ttl": 60})
        sim.api("POST", "/v2/domains/example.com/records", {"type": "TXT", "name": "www", "data": "hi", "ttl": 60})
        lst = sim.api("GET", "/v2/domains/example.com/records?type=A&name=www.example.com").json
        self.assertEqual(sorted(x["data"] for x in lst["domain_records"]), ["127.77.1.1", "127.77.1.2"])
        self.assertEqual(lst["meta"]["total"], 2)
        # The name filter is fully qualified: a relative name matches nothing.
        self.assertEqual(sim.api("GET", "/v2/domains/example.com/records?type=A&name=www").json["meta"]["total"], 0)
        self.assertEqual(sim.api("GET", "/v2/domains/example.com/records?type=NS").json["meta"]["total"], 3)
        up = sim.api("PUT", "/v2/domains/example.com/records/%d" % r2["id"], {"type": "A", "data": "127.77.1.9"})
        self.assertEqual(up.status, 200)
        self.assertEqual(up.json["domain_record"]["data"], "127.77.1.9")
        self.assertEqual(up.json["domain_record"]["name"], "www")
        self.assertEqual(sim.api("DELETE", "/v2/domains/example.com/records/%d" % rec["id"]).status, 204)
        self.assertError(sim.api("DELETE", "/v2/domains/example.com/records/%d" % rec["id"]), 404, "not_found")
        lst = sim.api("GET", "/v2/domains/example.com/records?type=A&name=www.example.com").json
        self.assertEqual([x["data"] for x in lst["domain_records"]], ["127.77.1.9"])
        self.assertError(sim.api("POST", "/v2/domains/example.com/records", {"type": "A", "name": "x",
                                                                            "data": "not-an-ip"}),
                         422, "unprocessable_entity")
        st = sim.state()["domains"]["example.com"]["records"]
        self.assertIn("www.example.com", [x["fqdn"] for x in st])
        # Domains can also be made through the API.
        self.assertEqual(sim.api("POST", "/v2/domains", {"name": "other.test"}).status, 201)
        self.assertEqual(sim.api("GET", "/v2/domains").json["meta"]["total"], 2)

    def lb_body(self, **kw):
        b = {"name": "lb", "region": "nyc3",
             "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http",
                                   "target_port": 8080}]}
        b.update(kw)
        return b

    def test_load_balancer_by_id(self):
        sim = self.start_sim("--boot-delay", "0.2")
        d1, d2 = sim.create("a"), sim.create("b")
        r = sim.api("POST", "/v2/load_balancers", self.lb_body(droplet_ids=[d1]))
        self.assertEqual(r.status, 202, r)
        lid = r.json["load_balancer"]["id"]
        self.assertEqual(r.json["load_balancer"]["status"], "new")
        self.assertEqual(sim.api("POST", "/v2/load_balancers/%s/droplets" % lid, {"droplet_ids": [d2]}).status, 204)
        lb = sim.api("GET", "/v2/load_balancers/%s" % lid).json["load_balancer"]
        self.assertEqual(sorted(lb["droplet_ids"]), sorted([d1, d2]))
        self.assertEqual(sim.api("DELETE", "/v2/load_balancers/%s/droplets" % lid, {"droplet_ids": [d1]}).status, 204)
        self.assertEqual(sim.api("GET", "/v2/load_balancers/%s" % lid).json["load_balancer"]["droplet_ids"], [d2])
        # Deleting a droplet takes it out of the load balancer.
        sim.api("DELETE", "/v2/droplets/%d" % d2)
        self.assertEqual(sim.api("GET", "/v2/load_balancers/%s" % lid).json["load_balancer"]["droplet_ids"], [])
        self.assertError(sim.api("POST", "/v2/load_balancers/%s/droplets" % lid, {"droplet_ids": [42]}),
                         422, "unprocessable_entity")
        sim.wait(lambda: sim.api("GET", "/v2/load_balancers/%s" % lid).json["load_balancer"]["status"] == "active",
                 what="lb active")

    def test_load_balancer_by_tag(self):
        sim = self.start_sim("--boot-delay", "30")
        d1 = sim.create("a", tags=["svc-web"])
        sim.create("b", tags=["other"])
        r = sim.api("POST", "/v2/load_balancers", self.lb_body(tag="svc-web"))
        lid = r.json["load_balancer"]["id"]
        self.assertEqual(r.json["load_balancer"]["droplet_ids"], [d1])
        self.assertEqual(r.json["load_balancer"]["tag"], "svc-web")
        r = sim.api("POST", "/v2/load_balancers/%s/droplets" % lid, {"droplet_ids": [d1]})
        self.assertError(r, 422, "unprocessable_entity")
        self.assertError(sim.api("DELETE", "/v2/load_balancers/%s/droplets" % lid, {"droplet_ids": [d1]}),
                         422, "unprocessable_entity")
        d3 = sim.create("c", tags=["svc-web"])
        self.assertEqual(sim.api("GET", "/v2/load_balancers/%s" % lid).json["load_balancer"]["droplet_ids"],
                         [d1, d3])
        # Tagging an existing droplet adds it; untagging removes it.
        d4 = sim.create("d")
        res = {"resources": [{"resource_id": str(d4), "resource_type": "droplet"}]}
        self.assertEqual(sim.api("POST", "/v2/tags/svc-web/resources", res).status, 204)
        self.assertIn(d4, sim.api("GET", "/v2/load_balancers/%s" % lid).json["load_balancer"]["droplet_ids"])
        self.assertEqual(sim.api("DELETE", "/v2/tags/svc-web/resources", res).status, 204)
        sim.api("DELETE", "/v2/droplets/%d" % d1)
        self.assertEqual(sim.api("GET", "/v2/load_balancers/%s" % lid).json["load_balancer"]["droplet_ids"], [d3])
        members = sim.state()["load_balancers"][0]["members"]
        self.assertEqual([m["droplet_id"] for m in members], [d3])
        self.assertError(sim.api("POST", "/v2/load_balancers", self.lb_body(tag="x", droplet_ids=[d3])),
                         422, "unprocessable_entity")

    def test_tags(self):
        sim = self.start_sim("--boot-delay", "30")
        r = sim.api("POST", "/v2/tags", {"name": "Role:web"})
        self.assertEqual(r.status, 201)
        self.assertEqual(r.json["tag"]["name"], "Role:web")
        self.assertEqual(r.json["tag"]["resources"]["count"], 0)
        bad = sim.api("POST", "/v2/tags", {"name": "bad tag!"})
        self.assertEqual(bad.status, 400)
        self.assertEqual(sorted(bad.json), ["error", "messages", "root_causes"])
        d = sim.create("a")
        res = {"resources": [{"resource_id": str(d), "resource_type": "droplet"}]}
        self.assertEqual(sim.api("POST", "/v2/tags/Role:web/resources", res).status, 204)
        t = sim.api("GET", "/v2/tags/Role:web").json["tag"]
        self.assertEqual(t["resources"]["droplets"]["count"], 1)
        self.assertEqual(sim.api("GET", "/v2/droplets/%d" % d).json["droplet"]["tags"], ["Role:web"])
        self.assertError(sim.api("GET", "/v2/tags/nope"), 404, "not_found")
        self.assertEqual(sim.api("DELETE", "/v2/tags/Role:web").status, 204)
        self.assertEqual(sim.api("GET", "/v2/droplets/%d" % d).json["droplet"]["tags"], [])

    def test_keep_alive_survives_errors_and_chunked_bodies(self):
        import http.client
        from urllib.parse import urlsplit
        sim = self.start_sim("--boot-delay", "30")
        u = urlsplit(sim.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        self.addCleanup(conn.close)
        body = b'{"name": "k1", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}'
        conn.request("POST", "/v2/droplets", body, {"Authorization": "Bearer wrong",
                                                     "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 401)
        auth = {"Authorization": "Bearer " + sim.token, "Content-Type": "application/json"}
        conn.request("POST", "/v2/droplets", iter([body[:10], body[10:]]), dict(auth, **{
            "Transfer-Encoding": "chunked"}), encode_chunked=True)
        r = conn.getresponse()
        self.assertEqual(r.status, 202, r.read())
        r.read()
        conn.request("GET", "/v2/droplets", headers=auth)
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        import json
        self.assertEqual([d["name"] for d in json.loads(r.read())["droplets"]], ["k1"])

    def test_request_log(self):
        sim = self.start_sim("--boot-delay", "30")
        sim.api("GET", "/v2/account")
        sim.api("GET", "/v2/droplets/5")
        log = sim.state()["request_log"]
        self.assertEqual([(e["method"], e["path"], e["status"]) for e in log],
                         [("GET", "/v2/account", 200), ("GET", "/v2/droplets/5", 404)])


if __name__ == "__main__":
    unittest.main()
