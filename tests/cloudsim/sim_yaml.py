"""A hand-written parser for the small YAML subset that #cloud-config user-data uses.

No third-party package is allowed, so this reads only what the simulator needs:
block mappings (`key: value`), block sequences (`- item`, including `- key: value`
items that open a mapping), plain, 'single' and "double" quoted scalars, block
scalars (`|`, `|-`, `|+`, `>`, `>-`), flow sequences (`[a, "b c", 'd']`), comments
and blank lines. Anchors, tags, flow mappings, multi-document streams and
complex keys are not supported and raise YamlError. Scalars stay strings
(cloud-config values such as permissions '0600' must not become numbers),
except that `null`/`~` and an empty value become None.
"""


class YamlError(ValueError):
    pass


def parse(text):
    lines = []
    for no, raw in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlError("line %d: tab in indentation" % no)
        lines.append((no, raw))
    p = _Parser(lines)
    p.skip_blank()
    if p.i >= len(p.lines):
        return None
    val = p.node(p.indent_of(p.i))
    p.skip_blank()
    if p.i < len(p.lines):
        raise YamlError("line %d: unexpected content" % p.lines[p.i][0])
    return val


def _strip_comment(s):
    out, q = [], None
    for k, c in enumerate(s):
        if q:
            if c == q:
                q = None
        elif c in "'\"" and (k == 0 or s[k - 1] in " [,:-"):
            q = c
        elif c == "#" and (k == 0 or s[k - 1] in " \t"):
            break
        out.append(c)
    return "".join(out).rstrip()


def _split_key(s):
    """Return (key, rest) when s is `key: rest` / `key:`, else None."""
    if s[:1] in "'\"":
        q = s[0]
        end = s.find(q, 1)
        if end < 0:
            return None
        key, after = s[1:end], s[end + 1:]
        if after == ":" or after.startswith(": "):
            return key, after[1:].strip()
        return None
    k = 0
    while True:
        k = s.find(":", k)
        if k < 0:
            return None
        if k + 1 == len(s) or s[k + 1] == " ":
            key = s[:k].strip()
            if not key or key[0] in "[{":
                return None
            return key, s[k + 1:].strip()
        k += 1


def scalar(s, no=0):
    s = s.strip()
    if s == "" or s in ("~", "null", "Null", "NULL"):
        return None
    if s[0] == "'":
        if len(s) < 2 or s[-1] != "'":
            raise YamlError("line %d: unterminated quoted string" % no)
        return s[1:-1].replace("''", "'")
    if s[0] == '"':
        if len(s) < 2 or s[-1] != '"':
            raise YamlError("line %d: unterminated quoted string" % no)
        return _unescape(s[1:-1], no)
    if s[0] == "[":
        if s[-1] != "]":
            raise YamlError("line %d: unterminated flow sequence" % no)
        return [scalar(x, no) for x in _split_flow(s[1:-1], no)]
    if s[0] in "{&*!|>%@`":
        raise YamlError("line %d: unsupported YAML construct %r" % (no, s[0]))
    return s


def _unescape(s, no):
    out, k = [], 0
    esc = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "/": "/", "0": "\0", "r": "\r", " ": " "}
    while k < len(s):
        c = s[k]
        if c == "\\" and k + 1 < len(s):
            n = s[k + 1]
            if n in esc:
                out.append(esc[n])
                k += 2
                continue
            if n == "x" and k + 3 < len(s) + 0:
                out.append(chr(int(s[k + 2:k + 4], 16)))
                k += 4
                continue
            if n == "u":
                out.append(chr(int(s[k + 2:k + 6], 16)))
                k += 6
                continue
            raise YamlError("line %d: unknown escape \\%s" % (no, n))
        out.append(c)
        k += 1
    return "".join(out)


def _split_flow(s, no):
    items, cur, q = [], [], None
    for c in s:
        if q:
            cur.append(c)
            if c == q:
                q = None
        elif c in "'\"":
            q = c
            cur.append(c)
        elif c == ",":
            items.append("".join(cur))
            cur = []
        elif c in "[]{}":
            raise YamlError("line %d: nested flow collections are not supported" % no)
        else:
            cur.append(c)
    if q:
        raise YamlError("line %d: unterminated quoted string" % no)
    last = "".join(cur)
    if last.strip() or items:
        items.append(last)
    return [x for x in items if x.strip() != ""] if not last.strip() else items


class _Parser:
    def __init__(self, lines):
        self.lines = lines
        self.i = 0

    def indent_of(self, i):
        raw = self.lines[i][1]
        return len(raw) - len(raw.lstrip(" "))

    def content(self, i):
        return _strip_comment(self.lines[i][1].strip())

    def skip_blank(self):
        while self.i < len(self.lines) and self.content(self.i) == "":
            self.i += 1

    def node(self, indent):
        """Parse the block node whose first line is self.i at `indent`."""
        text = self.content(self.i)
        if text == "-" or text.startswith("- "):
            return self.seq(indent)
        if _split_key(text) is not None:
            return self.mapping(indent)
        no = self.lines[self.i][0]
        self.i += 1
        return scalar(text, no)

    def seq(self, indent):
        out = []
        while True:
            self.skip_blank()
            if self.i >= len(self.lines) or self.indent_of(self.i) != indent:
                break
            text = self.content(self.i)
            if not (text == "-" or text.startswith("- ")):
                break
            no = self.lines[self.i][0]
            rest = text[1:].strip()
            if rest == "":
                self.i += 1
                out.append(self.child(indent, no))
            elif rest.startswith("- ") or _split_key(rest) is not None:
                # "- key: v" or "- - x": an inline node that continues on deeper lines.
                sub_indent = indent + (len(text) - len(rest))
                raw = self.lines[self.i][1]
                self.lines[self.i] = (no, " " * sub_indent + raw.lstrip(" ")[len(text) - len(rest):])
                out.append(self.node(sub_indent))
            elif rest[0] in "|>":
                self.i += 1
                out.append(self.block_scalar(rest, indent, no))
            else:
                self.i += 1
                out.append(scalar(rest, no))
        return out

    def mapping(self, indent):
        out = {}
        while True:
            self.skip_blank()
            if self.i >= len(self.lines) or self.indent_of(self.i) != indent:
                break
            text = self.content(self.i)
            kv = _split_key(text)
            if kv is None:
                break
            no = self.lines[self.i][0]
            key, rest = kv
            self.i += 1
            if rest == "":
                out[key] = self.child(indent, no, allow_same_seq=True)
            elif rest[0] in "|>":
                out[key] = self.block_scalar(rest, indent, no)
            else:
                out[key] = scalar(rest, no)
        return out

    def child(self, indent, no, allow_same_seq=False):
        self.skip_blank()
        if self.i >= len(self.lines):
            return None
        ci = self.indent_of(self.i)
        text = self.content(self.i)
        if ci > indent:
            return self.node(ci)
        if allow_same_seq and ci == indent and (text == "-" or text.startswith("- ")):
            return self.seq(ci)
        return None

    def block_scalar(self, head, indent, no):
        style, chomp = head[0], "clip"
        for c in head[1:].strip():
            if c == "-":
                chomp = "strip"
            elif c == "+":
                chomp = "keep"
            elif not c.isdigit():
                raise YamlError("line %d: bad block scalar header %r" % (no, head))
        body, block_indent = [], None
        while self.i < len(self.lines):
            raw = self.lines[self.i][1]
            if raw.strip() == "":
                body.append("")
                self.i += 1
                continue
            ind = len(raw) - len(raw.lstrip(" "))
            if block_indent is None:
                if ind <= indent:
                    break
                block_indent = ind
            if ind < block_indent:
                break
            body.append(raw[block_indent:])
            self.i += 1
        # Trailing blank lines belong to the chomping rule, not to the next key.
        trail = 0
        while body and body[-1] == "":
            body.pop()
            trail += 1
        if style == "|":
            text = "\n".join(body)
        else:
            text, prev_blank = "", True
            for ln in body:
                if ln == "":
                    text += "\n"
                    prev_blank = True
                elif ln.startswith(" ") or prev_blank:
                    text += ln if prev_blank or text.endswith("\n") else "\n" + ln
                    prev_blank = False
                else:
                    text += " " + ln
        if not body:
            return ""
        if chomp == "strip":
            return text
        if chomp == "keep":
            return text + "\n" * (1 + trail)
        return text + "\n"
