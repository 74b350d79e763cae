"""The hand-written cloud-config YAML subset parser."""

import unittest

import sim_runtime as rt
import sim_yaml


class TestYaml(unittest.TestCase):
    def test_mapping_sequence_scalars(self):
        doc = sim_yaml.parse("a: 1\nb: 'x y'\nc: \"q\\n\"\nd:\n  - one\n  - two # comment\ne: [p, 'q r', \"s\"]\n"
                             "f: ~\ng:\n")
        self.assertEqual(doc, {"a": "1", "b": "x y", "c": "q\n", "d": ["one", "two"], "e": ["p", "q r", "s"],
                               "f": None, "g": None})

    def test_sequence_at_same_indent_as_key(self):
        self.assertEqual(sim_yaml.parse("runcmd:\n- a\n- b\nx: y\n"), {"runcmd": ["a", "b"], "x": "y"})

    def test_sequence_of_mappings_and_nested_lists(self):
        doc = sim_yaml.parse("l:\n  - path: /a\n    mode: '0600'\n  - path: /b\n  - - x\n    - y\n  -\n    - z\n")
        self.assertEqual(doc, {"l": [{"path": "/a", "mode": "0600"}, {"path": "/b"}, ["x", "y"], ["z"]]})

    def test_block_scalars(self):
        doc = sim_yaml.parse("a: |\n  l1\n    l2\n\n  l3\nb: |-\n  s\nc: >\n  f1\n  f2\n\n  f3\nd: x\n")
        self.assertEqual(doc["a"], "l1\n  l2\n\nl3\n")
        self.assertEqual(doc["b"], "s")
        self.assertEqual(doc["c"], "f1 f2\nf3\n")
        self.assertEqual(doc["d"], "x")

    def test_hash_inside_quotes_and_urls(self):
        doc = sim_yaml.parse("a: 'x # y'\nb: http://h/#frag\n")
        self.assertEqual(doc, {"a": "x # y", "b": "http://h/#frag"})

    def test_rejects_unsupported(self):
        for bad in ("a: &anchor x\n", "a: {b: c}\n", "a: 'open\n", "\ta: b\n"):
            with self.assertRaises(sim_yaml.YamlError, msg=bad):
                sim_yaml.parse(bad)

    def test_cloud_config_extraction(self):
        files, cmds, ignored = rt.parse_cloud_config(
            "#cloud-config\nusers: []\nwrite_files:\n- path: /x\n  content: aGk=\n  encoding: b64\n"
            "  permissions: '0755'\nruncmd:\n- [a, b]\n- echo c\n")
        self.assertEqual(files, [{"path": "/x", "data": b"hi", "mode": 0o755, "append": False}])
        self.assertEqual(cmds, [["a", "b"], "echo c"])
        self.assertEqual(ignored, ["users"])
        with self.assertRaises(rt.CloudConfigError):
            rt.parse_cloud_config("#cloud-config\nwrite_files:\n  - content: x\n")

    def test_substitute_and_safe_join(self):
        self.assertEqual(rt.substitute("{root}/etc {{lit}}", {"root": "/r"}), "/r/etc {lit}")
        with self.assertRaises(KeyError):
            rt.substitute("{nope}", {})
        self.assertEqual(rt.safe_join("/r", "/etc/../etc/x"), "/r/etc/x")
        self.assertEqual(rt.safe_join("/r", "/../../x"), "/r/x")
        with self.assertRaises(ValueError):
            rt.safe_join("/r", "/")


if __name__ == "__main__":
    unittest.main()
