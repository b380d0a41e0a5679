"""The exporter's logfmt lines."""

import re

_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse(line):
    out = {}
    for key, raw in _PAIR.findall(line):
        if raw.startswith('"'):
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key] = raw
    return out


def lines_with_msg(text, msg):
    """Parsed lines whose msg is `msg`."""
    needle = 'msg="%s"' % msg if " " in msg else "msg=%s" % msg
    return [parse(line) for line in text.splitlines() if needle in line]
