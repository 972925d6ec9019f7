#!/usr/bin/env python3
"""Recreates the RFC 4475 torture messages (*.dat here) from the RFC's own text.

RFC 4475 Appendix A.1 carries every message of its Section 3 as a base64-encoded, gzip-compressed tar archive between
"-- BEGIN MESSAGE ARCHIVE --" and "-- END MESSAGE ARCHIVE --". Usage:

    curl -O https://www.rfc-editor.org/rfc/rfc4475.txt
    python3 extract.py rfc4475.txt .

The files kept here were made this way; sha256 of intmeth.dat:
b957a8292c1c0a9851fe94705b90f94320738f43aacde64998e401f742ef688d
"""
import base64
import io
import re
import sys
import tarfile

text, out = sys.argv[1], sys.argv[2]
lines = open(text, encoding="ascii").read().splitlines()
begin = next(i for i, l in enumerate(lines) if l.strip() == "-- BEGIN MESSAGE ARCHIVE --")
end = next(i for i, l in enumerate(lines) if l.strip() == "-- END MESSAGE ARCHIVE --")
# Page headers and footers of the RFC's pagination hold spaces; base64 lines do not.
data = "".join(l.strip() for l in lines[begin + 1:end] if re.fullmatch(r"\s*[A-Za-z0-9+/=]+\s*", l))
with tarfile.open(fileobj=io.BytesIO(base64.b64decode(data)), mode="r:gz") as archive:
    for member in archive.getmembers():
        if member.isfile():
            name = member.name.rsplit("/", 1)[-1]
            with open(f"{out}/{name}", "wb") as f:
                f.write(archive.extractfile(member).read())
            print(name)
