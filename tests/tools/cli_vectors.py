#!/usr/bin/env python3
"""cli_vectors.py: turn shared/testdata into command lines for the CLI e2e
tests.  Expected results are read from the data files at run time; nothing
here hard-codes a verdict for a specific file.

  cli_vectors.py verify TESTDATA OUTDIR

writes OUTDIR/cases: one case a line, fields separated by \\x1f:
  expected-exit, label, stdin-file-or-empty, argv..., END
plus the proof / note / key files the cases name.

Exit-code policy (DESIGN.md "CLI"), decided per case below:
  0  the vector says valid;
  1  the input is well formed but the claim is false (wrong root, bit
     flips, index >= size, a signature that does not verify, no signature
     from the given key, origin mismatch);
  2  the input is malformed: a hash that is not 32 bytes (the CLI takes
     exactly 64 hex digits), a note or checkpoint that does not parse, an
     unusable key, ambiguous keys, absurd sizes.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys

SEP = "\x1f"


class Out:
    def __init__(self, outdir):
        self.dir = outdir
        self.n = 0
        self.lines = []

    def file(self, name, data):
        self.n += 1
        path = os.path.join(self.dir, "%04d-%s" % (self.n, name))
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def case(self, expect, label, args, stdin="", check=None):
        """check: facts the JSON on stdout must show (see check_output)."""
        cf = self.file("check.json", json.dumps(check)) if check else ""
        self.lines.append(SEP.join([str(expect), label, stdin, cf] +
                                   list(args) + ["END"]))

    def write(self):
        with open(os.path.join(self.dir, "cases"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def b64hex(s):
    return base64.b64decode(s or "").hex()


def proof_files(out, proof):
    """The same proof as Rekor JSON and as plain text (one hex a line)."""
    hexes = [b64hex(p) for p in (proof or [])]
    j = out.file("proof.json", json.dumps({"hashes": hexes}))
    t = out.file("proof.txt", "".join(h + "\n" for h in hexes))
    return [("json", j), ("text", t)]


def all32(*fields):
    return all(len(base64.b64decode(f or "")) == 32 for f in fields)


def merkle_cases(out, td):
    for kind in ("inclusion", "consistency"):
        base = os.path.join(td, "merkle", kind)
        for dirpath, _, files in sorted(os.walk(base)):
            for fn in sorted(files):
                if not fn.endswith(".json"):
                    continue
                path = os.path.join(dirpath, fn)
                v = json.load(open(path))
                rel = os.path.relpath(path, td)
                proof = v.get("proof") or []
                if kind == "inclusion":
                    hashes = [v["root"], v["leafHash"]] + proof
                    args = ["verify", "inclusion", "--index", str(v["leafIdx"]),
                            "--size", str(v["treeSize"]),
                            "--root", b64hex(v["root"]),
                            "--leaf-hash", b64hex(v["leafHash"])]
                else:
                    hashes = [v["root1"], v["root2"]] + proof
                    args = ["verify", "consistency",
                            "--old-size", str(v["size1"]),
                            "--old-root", b64hex(v["root1"]),
                            "--new-size", str(v["size2"]),
                            "--new-root", b64hex(v["root2"])]
                # A hash that is not 32 bytes, or an index or size of 2^63
                # or more (Go's uint64 wrap-around, e.g. 0 - 1), is
                # malformed input (2); any other wantErr is a proof that
                # does not verify (1).
                ints = [v[k] for k in ("leafIdx", "treeSize", "size1", "size2")
                        if k in v]
                if not all32(*hashes) or max(ints) >= 2 ** 63:
                    expect = 2
                else:
                    expect = 1 if v["wantErr"] else 0
                # Each vector once, the proof alternately as JSON and as
                # text, so both parsers see every kind of case.
                nvec = getattr(out, "nvec", 0)
                out.nvec = nvec + 1
                form, pf = proof_files(out, proof)[nvec % 2]
                out.case(expect, "%s [%s]" % (rel, form),
                         args + ["--proof", pf])


def tessera_cases(out, td):
    """Real signed checkpoints of a tlog-tiles log + helper proofs."""
    d = json.load(open(os.path.join(td, "rekor-v2",
                                    "tessera-testlog-consistency-proofs.json")))
    vkey = d["logVerifierKey"]
    for p in d["proofs"]:
        args = ["verify", "consistency", "--old-size", str(p["size1"]),
                "--old-root", b64hex(p["root1"]), "--new-size", str(p["size2"]),
                "--new-root", b64hex(p["root2"])]
        pf = proof_files(out, p["proof"])[p["size2"] % 2][1]
        out.case(0, "tessera consistency %d->%d" % (p["size1"], p["size2"]),
                 args + ["--proof", pf])
        if p["proof"]:  # negative twin: one bit of one proof hash flipped
            bad = list(p["proof"])
            raw = bytearray(base64.b64decode(bad[-1]))
            raw[0] ^= 1
            bad[-1] = base64.b64encode(bytes(raw)).decode()
            out.case(1, "tessera consistency %d->%d, flipped proof bit"
                     % (p["size1"], p["size2"]),
                     args + ["--proof", proof_files(out, bad)[0][1]])
    cpdir = os.path.join(td, "rekor-v2", "tessera-testlog")
    for fn in sorted(os.listdir(cpdir)):
        if fn.startswith("checkpoint"):
            out.case(0, "tessera " + fn, ["verify", "checkpoint", "--key", vkey,
                                          os.path.join(cpdir, fn)])


def split_note(note):
    """(text, sigs) split at the last blank line, or None."""
    i = note.rfind("\n\n")
    if i < 0:
        return None
    return note[:i + 1], note[i + 2:]


def is_checkpoint(note):
    """An independent reading of C2SP tlog-checkpoint for SHA-256 logs."""
    s = split_note(note)
    if s is None:
        return False
    lines = s[0].split("\n")[:-1]
    if len(lines) < 3 or not lines[0] or not re.fullmatch(r"0|[1-9][0-9]*",
                                                          lines[1]):
        return False
    if int(lines[1]) >= 2 ** 63:
        return False
    try:
        return len(base64.b64decode(lines[2], validate=True)) == 32
    except ValueError:
        return False


def note_expect(case):
    """Exit code of 'verify note' for a note-vectors.json case."""
    if case["expect"] == "ok":
        return 0
    err = case.get("error", "")
    if "malformed" in err or "ambiguous" in err:
        return 2  # does not parse / the CLI refuses duplicate keys
    if "origin mismatch" in err:
        return 0  # the signature is valid; the origin is checkpoint business
    return 1  # invalid signature, no signature from a given key


def ed25519_sign(seed, msg, tmp):
    """Ed25519 signature by the openssl CLI; None when it is missing."""
    if shutil.which("openssl") is None:
        return None
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    key = os.path.join(tmp, "sign.key.pem")
    with open(key, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n"
                % base64.b64encode(der).decode())
    m = os.path.join(tmp, "sign.msg")
    with open(m, "wb") as f:
        f.write(msg)
    r = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key,
                        "-in", m], capture_output=True)
    return r.stdout if r.returncode == 0 and len(r.stdout) == 64 else None


def note_cases(out, td):
    nv = json.load(open(os.path.join(td, "note", "note-vectors.json")))
    vkeys = {}
    for c in nv["cases"]:
        for k in c.get("verifierKeys", []):
            vkeys["+".join(k.split("+")[:2])] = k
    rekor_vkey = vkeys.get("rekor.sigstore.dev+c0d23d6a")
    sample = None
    for c in nv["cases"]:
        if c["expect"] == "ok" and "note" in c and c.get("verifierKeys"):
            sample = out.file("sample.note", c["note"].encode())
            break
    for c in nv["cases"]:
        cid = "note-vectors " + c["id"]
        if c["expect"] == "vkey-error":
            out.case(2, cid, ["verify", "note", "--key", c["vkey"], sample])
            continue
        if c["id"] == "go-sign-deterministic":
            # The expected signed note must verify with the signer's vkey.
            name = "+".join(c["signerKey"].split("+", 4)[2:4])
            nf = out.file("signed.note", c["expectSignedNote"].encode())
            out.case(0, cid, ["verify", "note", "--key", vkeys[name], nf])
            continue
        note = c["note"].encode()
        if "raw byte 0xFF" in c.get("comment", ""):
            # JSON cannot carry the byte; the case's comment says to put it
            # back in place of the first character.
            note = b"\xff" + c["note"][1:].encode()
        nf = out.file("case.note", note)
        keys = c.get("verifierKeys") or []
        if c["expect"] == "parse-only" or not keys:
            # No key published: with an unrelated key the note must parse
            # (not 2) and fail for want of a known signature (1).
            keys = [rekor_vkey]
            expect = 1 if c["expect"] == "parse-only" else note_expect(c)
        else:
            expect = note_expect(c)
        kargs = []
        for k in keys:
            kargs += ["--key", k]
        out.case(expect, cid + " [note]", ["verify", "note"] + kargs + [nf])
        # As a checkpoint: a text that is not a checkpoint is malformed (2)
        # unless the note itself already is (2 either way).
        if expect == 2 or not is_checkpoint(c["note"]):
            cexp = 2
        elif "origin mismatch" in c.get("error", ""):
            cexp = 1
        else:
            cexp = expect
        oargs = ["--origin", c["expectedOrigin"]] if "expectedOrigin" in c else []
        out.case(cexp, cid + " [checkpoint]",
                 ["verify", "checkpoint"] + kargs + oargs + [nf])
    # Checkpoint bodies, signed here with the go-sign-deterministic test key.
    signer = [c for c in nv["cases"] if c["id"] == "go-sign-deterministic"][0]
    parts = signer["signerKey"].split("+", 4)
    name, kid = parts[2], bytes.fromhex(parts[3])
    seed = base64.b64decode(parts[4])[1:]
    vkey = vkeys[parts[2] + "+" + parts[3]]
    real_root = base64.b64encode(bytes(range(32))).decode()
    for b in nv["checkpointBodyCases"]["cases"]:
        variants = [(b["body"], "")]
        lines = b["body"].split("\n")
        if not b["wantErr"]:
            # formats does not check the root length; the CLI needs a
            # 32-byte SHA-256 root, so also sign the body with one.
            variants.append(("\n".join(lines[:2] + [real_root] + lines[3:]),
                             " (32-byte root)"))
        for body, tag in variants:
            sig = ed25519_sign(seed, body.encode(), out.dir)
            if sig is None:
                continue
            note = "%s\n\u2014 %s %s\n" % (body, name,
                                           base64.b64encode(kid + sig).decode())
            nf = out.file("body.note", note.encode())
            if b["wantErr"] or not is_checkpoint(note):
                expect = 2
            else:
                expect = 0
            out.case(expect, "checkpoint body: %s%s" % (b["desc"], tag),
                     ["verify", "checkpoint", "--key", vkey, nf])
    # raw/*.note with VKEYS.tsv
    raw = os.path.join(td, "note", "raw")
    for line in open(os.path.join(raw, "VKEYS.tsv")):
        if line.startswith("#") or not line.strip():
            continue
        fn, key, exp = line.rstrip("\n").split("\t")
        path = os.path.join(raw, fn)
        expect = 0 if exp.startswith("ok") else 1
        out.case(expect, "raw %s [note]" % fn, ["verify", "note", "--key", key,
                                                path])
        text = open(path, encoding="utf-8").read()
        out.case(expect if is_checkpoint(text) else 2,
                 "raw %s [checkpoint]" % fn,
                 ["verify", "checkpoint", "--key", key, path])
        kf = out.file("vkey.txt", key + "\n")
        out.case(expect, "raw %s [note, vkey in a file]" % fn,
                 ["verify", "note", "--key", kf, path])


def rekor_checkpoint_cases(out, td):
    """rekor/checkpoints/*.txt: EXPECTED.md says valid* parse (and the
    rekor one verifies), error_* do not parse."""
    d = os.path.join(td, "rekor", "checkpoints")
    pem = os.path.join(td, "rekor", "rekor.sigstore.dev.pub")
    staging = os.path.join(td, "rekor", "api-entries", "rekor-staging.pub")
    expected = open(os.path.join(d, "EXPECTED.md")).read()
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".txt"):
            continue
        row = [l for l in expected.splitlines() if l.startswith("| " + fn)]
        ok = bool(row) and "parse OK" in row[0]
        path = os.path.join(d, fn)
        out.case(0 if ok else 2, "rekor/checkpoints/" + fn,
                 ["verify", "checkpoint", "--key", pem, path])
        if ok:
            out.case(1, "rekor/checkpoints/%s, wrong key" % fn,
                     ["verify", "checkpoint", "--key", staging, path])
            out.case(0, "rekor/checkpoints/%s, stdin" % fn,
                     ["verify", "checkpoint", "--key", pem, "-"], stdin=path)
    # The second line of valid_multi_sig is a corrupted copy under another
    # name: naming that signer makes it the known key, which must fail.
    out.case(1, "valid_multi_sig.txt as bob.loblaw.dev",
             ["verify", "checkpoint", "--key", pem, "--name", "bob.loblaw.dev",
              os.path.join(d, "valid_multi_sig.txt")])


def bundle_checkpoint_cases(out, td):
    """The checkpoint of every bundle in INDEX.json, verified as a file with
    its log's key (written as PEM from the trusted root that holds the log
    id): valid unless INDEX.json says the log's own signature line is bad
    or its key hint is not the log's."""
    idx = json.load(open(os.path.join(td, "rekor", "bundles", "INDEX.json")))
    roots = [json.load(open(os.path.join(td, r))) for r in (
        "fulcio/trusted_root.json", "rekor-v2/staging-trusted_root.json",
        "rekor-v2/staging-trusted_root-alpha3.json")]
    for rel, f in sorted(idx["bundles"].items()):
        if not f["hasCheckpoint"]:
            continue
        b = json.load(open(os.path.join(td, rel)))
        t = b["verificationMaterial"]["tlogEntries"][0]
        note = t["inclusionProof"]["checkpoint"]["envelope"]
        key = None
        for r in roots:
            for tl in r["tlogs"]:
                if tl["logId"]["keyId"] == t["logId"]["keyId"]:
                    key = key or tl["publicKey"]["rawBytes"]
        der = base64.b64decode(key)
        pem = out.file("log.pem", "-----BEGIN PUBLIC KEY-----\n%s\n"
                       "-----END PUBLIC KEY-----\n" % base64.b64encode(der)
                       .decode())
        signer = f["checkpointOrigin"].split(" ")[0]
        bad = any(c["name"] == signer and (c["sigValid"] is False or
                                           c["hintMatchesLogId"] is False)
                  for c in f["helperResults"]["checkpointSignatures"])
        nf = out.file("bundle-checkpoint.note", note)
        out.case(1 if bad else 0, "checkpoint of " + rel,
                 ["verify", "checkpoint", "--key", pem, nf])
        out.case(1 if bad else 0, "checkpoint of %s, --name --origin" % rel,
                 ["verify", "checkpoint", "--key", pem, "--name", signer,
                  "--origin", f["checkpointOrigin"], nf])
        if not bad:
            out.case(1, "checkpoint of %s, other origin" % rel,
                     ["verify", "checkpoint", "--key", pem, "--origin",
                      f["checkpointOrigin"] + "x", nf])


def entry_cases(out, td):
    """verify inclusion --entry with the real API entries."""
    d = os.path.join(td, "rekor", "api-entries")
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".json"):
            continue
        path = os.path.join(d, fn)
        (uuid, e), = json.load(open(path)).items()
        ip = e["verification"]["inclusionProof"]
        args = ["verify", "inclusion", "--index", str(ip["logIndex"]),
                "--size", str(ip["treeSize"]), "--root", ip["rootHash"]]
        full = out.file("inclusionProof.json", json.dumps(ip))
        out.case(0, "entry %s [--entry, full proof object]" % fn,
                 args + ["--entry", path, "--proof", full])
        out.case(0, "entry %s [--leaf-hash]" % fn,
                 args + ["--leaf-hash", uuid[-64:], "--proof",
                         proof_files(out, [base64.b64encode(bytes.fromhex(h))
                                           .decode() for h in ip["hashes"]])[1][1]])
        badroot = ("0" if ip["rootHash"][0] != "0" else "1") + ip["rootHash"][1:]
        out.case(1, "entry %s, other root" % fn,
                 ["verify", "inclusion", "--index", str(ip["logIndex"]),
                  "--size", str(ip["treeSize"]), "--root", badroot, "--entry",
                  path, "--proof", out.file("hashes.json",
                                            json.dumps({"hashes": ip["hashes"]}))])


def malformed_cases(out, td):
    """Malformed input: exit 2, one line on stderr, never a crash."""
    pem = os.path.join(td, "rekor", "rekor.sigstore.dev.pub")
    valid = os.path.join(td, "rekor", "checkpoints", "valid.txt")
    vtext = open(valid, encoding="utf-8").read()
    h = "ab" * 32
    good = out.file("empty-proof.txt", "")
    inc = ["verify", "inclusion", "--index", "0", "--size", "1", "--root", h,
           "--leaf-hash", h]
    con = ["verify", "consistency", "--old-size", "1", "--old-root", h,
           "--new-size", "2", "--new-root", h]
    out.case(0, "one-leaf tree, empty proof", inc + ["--proof", good])
    big = out.file("10mb-line.txt", "a" * (10 * 1024 * 1024))
    cases = [
        ("truncated JSON proof", inc + ["--proof", out.file(
            "trunc.json", '{"hashes": ["' + h[:20])]),
        ("JSON proof, wrong type", inc + ["--proof", out.file(
            "type.json", '{"hashes": "' + h + '"}')]),
        ("proof, non-hex line", inc + ["--proof", out.file(
            "nonhex.txt", "zz" * 32 + "\n")]),
        ("proof, 10 MB line", inc + ["--proof", big]),
        ("proof, 10 MB line on stdin", inc + ["--proof", "-"], big),
        ("checkpoint, 10 MB line", ["verify", "checkpoint", "--key", pem, big]),
        ("entry, 10 MB line", ["verify", "inclusion", "--index", "0", "--size",
                               "1", "--root", h, "--entry", big, "--proof",
                               good]),
        ("entry, truncated JSON", ["verify", "inclusion", "--index", "0",
                                   "--size", "1", "--root", h, "--entry",
                                   out.file("trunc-entry.json", '{"ab'),
                                   "--proof", good]),
        ("entry, bad base64 body", ["verify", "inclusion", "--index", "0",
                                    "--size", "1", "--root", h, "--entry",
                                    out.file("b64-entry.json", json.dumps(
                                        {h: {"body": "!!!!", "integratedTime":
                                             1, "logID": h, "logIndex": 0}})),
                                    "--proof", good]),
        ("checkpoint, bad base64 root",
         ["verify", "checkpoint", "--key", pem, out.file(
             "b64.note", "\n".join(ln if i != 2 else "!" + ln[1:] for i, ln in
                                   enumerate(vtext.split("\n"))))]),
        ("checkpoint, bad base64 signature",
         ["verify", "checkpoint", "--key", pem, out.file(
             "b64sig.note", vtext.replace("\u2014 rekor.sigstore.dev ",
                                          "\u2014 rekor.sigstore.dev *", 1))]),
        ("note with no signature", ["verify", "checkpoint", "--key", pem,
                                    out.file("nosig.note",
                                             vtext.split("\n\n")[0] + "\n")]),
        ("empty checkpoint file", ["verify", "checkpoint", "--key", pem,
                                   out.file("empty.note", "")]),
        ("binary checkpoint file", ["verify", "checkpoint", "--key", pem,
                                    out.file("bin.note", bytes(range(256)))]),
        ("non-hex --root", ["verify", "inclusion", "--index", "0", "--size",
                            "1", "--root", "xy" * 32, "--leaf-hash", h,
                            "--proof", good]),
        ("short --leaf-hash", inc[:-1] + [h[:62], "--proof", good]),
        ("vkey with bad base64", ["verify", "note", "--key",
                                  "rekor.sigstore.dev+c0d23d6a+!!!!", valid]),
        ("key file that is no key", ["verify", "checkpoint", "--key",
                                     out.file("nokey.pem",
                                              "-----BEGIN PUBLIC KEY-----\n"
                                              "AAAA\n-----END PUBLIC KEY-----\n"),
                                     valid]),
        ("missing --proof", inc),
        ("unknown option", inc + ["--proof", good, "--frobnicate", "1"]),
        ("unknown subcommand", ["verify", "everything"]),
        ("missing key", ["verify", "checkpoint", valid]),
        ("both --leaf-hash and --entry", inc + ["--entry", valid, "--proof",
                                                good]),
        ("negative size", ["verify", "inclusion", "--index", "0", "--size",
                           "-1", "--root", h, "--leaf-hash", h, "--proof",
                           good]),
    ]
    for v in ("18446744073709551615", "99999999999999999999",
              "9223372036854775808", "1e3", "0x10", " 1", ""):
        for opt in ("--index", "--size"):
            a = list(inc)
            a[a.index(opt) + 1] = v
            cases.append(("%s %r" % (opt, v), a + ["--proof", good]))
        for opt in ("--old-size", "--new-size"):
            a = list(con)
            a[a.index(opt) + 1] = v
            cases.append(("%s %r" % (opt, v), a + ["--proof", good]))
    for c in cases:
        out.case(2, "malformed: " + c[0], c[1], c[2] if len(c) > 2 else "")


# ---- inspect ----

ROOTS = ("fulcio/trusted_root.json", "rekor-v2/staging-trusted_root.json",
         "rekor-v2/staging-trusted_root-alpha3.json")
PEMS = ("rekor/rekor.sigstore.dev.pub", "rekor/api-entries/rekor-staging.pub",
        "rekor-v2/log2025-1.rekor.sigstore.dev.pub")


def pem_der(text):
    body = re.search(r"-----BEGIN [A-Z ]+-----(.*?)-----END", text, re.S)
    return base64.b64decode("".join(body.group(1).split()))


class Doc:
    """An API entry or a bundle, with uniform access to what we mutate."""

    def __init__(self, path):
        self.path = path
        self.j = json.load(open(path))
        self.bundle = "mediaType" in self.j
        if self.bundle:
            self.t = self.j["verificationMaterial"]["tlogEntries"][0]
            self.proof = self.t.get("inclusionProof") or None
        else:
            (self.uuid, self.t), = self.j.items()
            self.proof = self.t["verification"].get("inclusionProof")

    def log_id(self):
        if self.bundle:
            return base64.b64decode(self.t["logId"]["keyId"])
        return bytes.fromhex(self.t["logID"])

    def checkpoint(self):
        if not self.proof:
            return None
        cp = self.proof.get("checkpoint")
        cp = cp.get("envelope") if isinstance(cp, dict) else cp
        return cp or None

    def set_checkpoint(self, note):
        if self.bundle:
            self.proof["checkpoint"]["envelope"] = note
        else:
            self.proof["checkpoint"] = note

    def body_key(self):
        return "canonicalizedBody" if self.bundle else "body"

    def set_b64(self):
        if self.bundle:
            p = self.t.get("inclusionPromise")
            return p and p.get("signedEntryTimestamp")
        return self.t["verification"].get("signedEntryTimestamp")

    def put_set(self, v):
        if self.bundle:
            self.t["inclusionPromise"]["signedEntryTimestamp"] = v
        else:
            self.t["verification"]["signedEntryTimestamp"] = v


def flip_hash(s):
    """One byte of a hex or base64 hash changed, same encoding."""
    if re.fullmatch(r"[0-9a-fA-F]{64}", s):
        raw = bytearray(bytes.fromhex(s))
        raw[7] ^= 0x40
        return raw.hex()
    raw = bytearray(base64.b64decode(s))
    raw[7] ^= 0x40
    return base64.b64encode(bytes(raw)).decode()


def flip_b64_byte(s, i):
    raw = bytearray(base64.b64decode(s))
    raw[i % len(raw)] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def flip_body(b64):
    """Change one character of a hash inside the body; JSON stays valid."""
    body = base64.b64decode(b64).decode()
    m = (re.search(r'"(?:value|digest)":"([0-9a-f]{64})"', body) or
         re.search(r'"(?:value|digest)":"([A-Za-z0-9+/]{43}=)"', body))
    i = m.start(1) + 5
    c = body[i]
    body = body[:i] + ("1" if c == "0" else "0" if c in "0123456789abcdef"
                       else "B" if c == "A" else "A") + body[i + 1:]
    return base64.b64encode(body.encode()).decode()


def flip_checkpoint_sig(note):
    """Flip a signature byte in the log's own line (named like the origin)."""
    text, sigs = split_note(note)
    signer = text.split("\n")[0].split(" ")[0]
    lines = sigs.split("\n")
    for k, line in enumerate(lines):
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] == signer:
            lines[k] = " ".join(parts[:2] + [flip_b64_byte(parts[2], 10)])
            return text + "\n" + "\n".join(lines)
    raise ValueError("no log signature line")


def trusted_root_for(td, log_id):
    for r in ROOTS:
        for t in json.load(open(os.path.join(td, r)))["tlogs"]:
            if base64.b64decode(t["logId"]["keyId"]) == log_id:
                return os.path.join(td, r)
    return None


def pem_for(td, doc):
    import hashlib
    cp = doc.checkpoint()
    name = cp.split("\n")[0].split(" ")[0] if cp else ""
    for p in PEMS:
        der = pem_der(open(os.path.join(td, p)).read())
        ids = [hashlib.sha256(der).digest()]
        if len(der) == 44:  # Ed25519 SPKI: the C2SP key id needs the name
            ids.append(hashlib.sha256(name.encode() + b"\n\x01" +
                                      der[-32:]).digest())
        if doc.log_id() in ids:
            return os.path.join(td, p)
    return None


def index_expect(idx, rel):
    """Expected check outcomes from INDEX.json helperResults."""
    f = idx["bundles"][rel]
    hr = f["helperResults"]
    want = {"inclusion": "ok" if f["proofLogIndex"] is not None else "skip",
            "checkpoint_signature": "ok" if f["hasCheckpoint"] else "skip",
            "signed_entry_timestamp": "ok" if f["hasSET"] else "skip"}
    if hr["leafHashToRoot"] is False or \
            hr["checkpointSizeAndRootMatchProof"] is False:
        want["inclusion"] = "failed"
    cps = [c for c in hr["checkpointSignatures"]
           if c["name"] == (f["checkpointOrigin"] or "").split(" ")[0]]
    if any(c["sigValid"] is False or c["hintMatchesLogId"] is False
           for c in cps):
        want["checkpoint_signature"] = "failed"
    if hr["SET"] is False:
        want["signed_entry_timestamp"] = "failed"
    return f, want


def inspect_cases(out, td):
    idx = json.load(open(os.path.join(td, "rekor", "bundles", "INDEX.json")))
    ext = json.load(open(os.path.join(td, "fulcio", "leaf",
                                      "extensions-decoded.json")))["certs"]
    import hashlib
    by_bundle, by_sha = {}, {}
    for pem, c in ext.items():
        by_bundle[c["fromBundle"]] = c
        der = pem_der(open(os.path.join(td, "fulcio", "leaf", pem)).read())
        by_sha[hashlib.sha256(der).hexdigest()] = c
    files = []
    for d in ("rekor/api-entries", "rekor/bundles/valid",
              "rekor/bundles/invalid", "rekor-v2"):
        for fn in sorted(os.listdir(os.path.join(td, d))):
            if fn.endswith(".json") and "trusted_root" not in fn and \
                    "consistency-proofs" not in fn:
                files.append(d + "/" + fn)
    for rel in files:
        path = os.path.join(td, rel)
        doc = Doc(path)
        root = trusted_root_for(td, doc.log_id())
        check = {"equal": {}, "checks": {}, "claims": None}
        if rel in idx["bundles"]:
            f, want = index_expect(idx, rel)
            kind, ver = f["kind"].split("/")
            check["equal"] = {"log_index": f["logIndex"], "kind": kind,
                              "api_version": ver,
                              "tree_size": f["treeSize"],
                              "shard_index": f["proofLogIndex"],
                              "integrated_time": f["integratedTime"],
                              "origin": f["checkpointOrigin"]}
            check["checks"] = dict(want, entry_id="skip",
                                   certificate_logged="ok")
            expect = 1 if f["expected"] == "FAIL" else 0
        else:
            body = json.loads(base64.b64decode(doc.t["body"]))
            check["equal"] = {"uuid": doc.uuid, "leaf_hash": doc.uuid[-64:],
                              "log_index": doc.t["logIndex"],
                              "kind": body["kind"],
                              "api_version": body["apiVersion"],
                              "integrated_time": doc.t["integratedTime"],
                              "shard_index": doc.proof["logIndex"],
                              "tree_size": doc.proof["treeSize"]}
            check["checks"] = {k: "ok" for k in (
                "entry_id", "inclusion", "checkpoint_signature",
                "signed_entry_timestamp")}
            check["checks"]["certificate_logged"] = "skip"
            expect = 0
        claims = by_bundle.get(rel)
        check["claims"] = claims
        check["claims_by_sha"] = by_sha
        out.case(expect, "inspect %s --trusted-root" % rel,
                 ["inspect", path, "--trusted-root", root], check=check)
        pem = pem_for(td, doc)
        if pem:
            out.case(expect, "inspect %s --key" % rel,
                     ["inspect", "--key", pem, path],
                     check={"equal": check["equal"],
                            "checks": check["checks"]})
        if expect == 0:
            # Without a key the signature checks are skipped; the others
            # need no key.
            skipped = dict(check["checks"], checkpoint_signature="skip",
                           signed_entry_timestamp="skip")
            out.case(0, "inspect %s (no key)" % rel, ["inspect", path],
                     check={"checks": skipped})
            out.case(0, "inspect %s (stdin)" % rel,
                     ["inspect", "-", "--trusted-root", root], stdin=path,
                     check={"checks": check["checks"]})
            mutate_cases(out, td, doc, rel, root)


def mutate_cases(out, td, doc, rel, root):
    """One changed byte anywhere that matters must fail (exit 1)."""
    def emit(what, fn, failed):
        d = Doc(doc.path)
        fn(d)
        mf = out.file("mutated.json", json.dumps(d.j))
        out.case(1, "inspect %s, %s changed" % (rel, what),
                 ["inspect", mf, "--trusted-root", root],
                 check={"checks": {failed: "failed"}})

    if doc.proof and doc.proof.get("hashes"):
        emit("a proof hash", lambda d: d.proof["hashes"].__setitem__(
            0, flip_hash(d.proof["hashes"][0])), "inclusion")
    if doc.proof:
        emit("the root hash", lambda d: d.proof.__setitem__(
            "rootHash", flip_hash(d.proof["rootHash"])), "inclusion")
    if doc.checkpoint():
        emit("the checkpoint signature", lambda d: d.set_checkpoint(
            flip_checkpoint_sig(d.checkpoint())), "checkpoint_signature")
    emit("the entry body", lambda d: d.t.__setitem__(
        d.body_key(), flip_body(d.t[d.body_key()])),
        "inclusion" if doc.proof else "signed_entry_timestamp")
    if doc.set_b64():
        emit("the SET", lambda d: d.put_set(flip_b64_byte(d.set_b64(), 12)),
             "signed_entry_timestamp")
    if doc.bundle:
        # another real Fulcio certificate in place of the bundle's own
        vm = doc.j["verificationMaterial"]
        own = (vm.get("certificate") or
               vm["x509CertificateChain"]["certificates"][0])["rawBytes"]
        leafdir = os.path.join(td, "fulcio", "leaf")
        other = None
        for fn in sorted(os.listdir(leafdir)):
            if fn.endswith(".pem"):
                der = base64.b64encode(pem_der(open(os.path.join(
                    leafdir, fn)).read())).decode()
                if der != own:
                    other = der
                    break

        def swap(d):
            m = d.j["verificationMaterial"]
            c = m.get("certificate") or \
                m["x509CertificateChain"]["certificates"][0]
            c["rawBytes"] = other
        emit("the certificate (another signer's)", swap,
             "certificate_logged")


def inspect_root_cases(out, td):
    """Trusted-root key selection: a log the root does not hold, and a log
    key whose validFor ends before the entry was integrated, both fail the
    signature checks (exit 1)."""
    entry = os.path.join(td, "rekor", "api-entries",
                         "staging-hashedrekord-entry.json")
    prod = os.path.join(td, ROOTS[0])
    out.case(1, "inspect staging entry with the production root",
             ["inspect", entry, "--trusted-root", prod],
             check={"checks": {"checkpoint_signature": "failed",
                               "signed_entry_timestamp": "failed",
                               "inclusion": "ok"}})
    jar = os.path.join(td, "rekor", "api-entries", "prod-jar-entry.json")
    (_, e), = json.load(open(jar)).items()
    r = json.load(open(prod))
    for t in r["tlogs"]:
        if base64.b64decode(t["logId"]["keyId"]).hex() == e["logID"]:
            # just after start, long before the entry's integratedTime
            t["publicKey"]["validFor"]["end"] = "2021-06-01T00:00:00Z"
    expired = out.file("expired-root.json", json.dumps(r))
    out.case(1, "inspect with a log key that expired before the entry",
             ["inspect", jar, "--trusted-root", expired],
             check={"checks": {"checkpoint_signature": "failed",
                               "signed_entry_timestamp": "failed",
                               "inclusion": "ok", "entry_id": "ok"}})


def inspect_malformed_cases(out, td):
    """Malformed input to inspect: exit 2, one line on stderr."""
    import hashlib
    entry = os.path.join(td, "rekor", "api-entries", "prod-jar-entry.json")
    (uuid, e), = json.load(open(entry)).items()
    bundle = json.load(open(os.path.join(
        td, "rekor", "bundles", "valid",
        "gha-hashedrekord-rfc8785py.sigstore.json")))
    notjson = b"this is not json"
    leaf = hashlib.sha256(b"\0" + notjson).hexdigest()

    def ent(**kw):
        v = dict(e)
        v.update(kw)
        return json.dumps({uuid: v})

    def bun(fn):
        b = json.loads(json.dumps(bundle))
        fn(b)
        return json.dumps(b)

    te = lambda b: b["verificationMaterial"]["tlogEntries"][0]
    cases = [
        ("truncated JSON", open(entry).read()[:1000]),
        ("not JSON", "hello"),
        ("empty file", ""),
        ("a 10 MB line", "[" + "1," * (5 * 1024 * 1024) + "1]"),
        ("JSON array of two entries", "[%s, %s]" % (ent(), ent())),
        ("object with two entry ids", json.dumps({uuid: e, "ab" * 32: e})),
        ("entry id not hex", json.dumps({"zz" * 40: e})),
        ("entry id of 70 digits", json.dumps({"ab" * 35: e})),
        ("body bad base64", ent(body="!!!!")),
        ("body not a string", ent(body=12)),
        ("logIndex negative", ent(logIndex=-1)),
        ("logIndex fractional", ent(logIndex=1.5)),
        ("logIndex 99999999999999999999",
         ent().replace('"logIndex": %d' % e["logIndex"],
                       '"logIndex": 99999999999999999999')),
        ("logID not hex", ent(logID="xyz")),
        ("proof hash not hex", ent(verification=dict(
            e["verification"], inclusionProof=dict(
                e["verification"]["inclusionProof"], hashes=["zz" * 32])))),
        ("SET bad base64", ent(verification=dict(
            e["verification"], signedEntryTimestamp="***"))),
        ("body is not JSON (entry id and leaf agree)",
         json.dumps({leaf: {"body": base64.b64encode(notjson).decode(),
                            "integratedTime": 1, "logID": "ab" * 32,
                            "logIndex": 1}})),
        ("bundle: unknown media type", bun(lambda b: b.__setitem__(
            "mediaType", "application/vnd.dev.sigstore.bundle+json;version=9"))),
        ("bundle: no tlogEntries", bun(lambda b: b["verificationMaterial"]
                                       .__setitem__("tlogEntries", []))),
        ("bundle: logIndex not a number", bun(lambda b: te(b).__setitem__(
            "logIndex", "12a"))),
        ("bundle: logIndex 2^64", bun(lambda b: te(b).__setitem__(
            "logIndex", "18446744073709551616"))),
        ("bundle: keyId not 32 bytes", bun(lambda b: te(b)["logId"]
                                           .__setitem__("keyId", "AAAA"))),
        ("bundle: proof hash bad base64", bun(lambda b: te(b)[
            "inclusionProof"]["hashes"].__setitem__(0, "%%%%"))),
        ("bundle: certificate bad base64", bun(lambda b: b[
            "verificationMaterial"]["x509CertificateChain"]["certificates"][0]
            .__setitem__("rawBytes", "!"))),
    ]
    for label, data in cases:
        out.case(2, "inspect malformed: " + label,
                 ["inspect", out.file("bad.json", data)])
    good = entry
    root = os.path.join(td, ROOTS[0])
    pem = os.path.join(td, PEMS[0])
    for label, args in [
            ("--key and --trusted-root", ["inspect", good, "--key", pem,
                                          "--trusted-root", root]),
            ("unknown option", ["inspect", good, "--verbose"]),
            ("no FILE", ["inspect"]),
            ("missing FILE", ["inspect", good + ".missing"]),
            ("--key is no key", ["inspect", good, "--key", good]),
            ("--trusted-root is no root", ["inspect", good, "--trusted-root",
                                           good]),
            ("two FILEs", ["inspect", good, good])]:
        out.case(2, "inspect usage: " + label, args)


def check_all(pending):
    """Lines "label SEP checkfile-or-empty SEP outfile": check each output."""
    ok = bad = 0
    for line in open(pending):
        label, checkfile, outfile = line.rstrip("\n").split(SEP)
        why = check_output(checkfile, outfile)
        if why:
            bad += 1
            print("FAIL: %s: %s" % (label, "; ".join(why)))
        else:
            ok += 1
    print("checked %d %d" % (ok, bad))


def check_output(checkfile, outfile):
    """Compare inspect's JSON with the expected facts; list mismatches."""
    try:
        got = json.load(open(outfile))
    except ValueError as e:
        return ["stdout is not one JSON object: %s" % e]
    if not isinstance(got, dict):
        return ["stdout is not a JSON object"]
    if not checkfile:
        return []
    want = json.load(open(checkfile))
    bad = []
    for k, v in want.get("equal", {}).items():
        if v is None:
            if k in got:
                bad.append("%s: %r, expected absent" % (k, got[k]))
        elif got.get(k) != v:
            bad.append("%s: %r, expected %r" % (k, got.get(k), v))
    for k, v in want.get("checks", {}).items():
        g = got.get("checks", {}).get(k, "")
        if not g.startswith({"skip": "skipped"}.get(v, v)):
            bad.append("checks.%s: %r, expected %s" % (k, g, v))
    cert = got.get("certificate")
    claims = want.get("claims")
    if claims is None and cert and want.get("claims_by_sha"):
        claims = want["claims_by_sha"].get(cert.get("sha256"))
    if claims is not None:
        if not cert:
            bad.append("certificate: missing")
        else:
            kind, _, san = claims["subjectAltName"].partition(":")
            if cert.get("san") != san or \
                    cert.get("san_type") != {"URI": "uri", "email": "email"}.get(kind):
                bad.append("san: %r/%r, expected %r" % (
                    cert.get("san_type"), cert.get("san"),
                    claims["subjectAltName"]))
            exts = claims["sigstoreExtensions"]
            issuer = (exts.get("1.3.6.1.4.1.57264.1.8") or
                      exts.get("1.3.6.1.4.1.57264.1.1") or {}).get("value")
            if cert.get("issuer") != issuer:
                bad.append("issuer: %r, expected %r" % (cert.get("issuer"),
                                                        issuer))
            if cert.get("issuer_cn") != claims["issuerCN"]:
                bad.append("issuer_cn: %r, expected %r" % (
                    cert.get("issuer_cn"), claims["issuerCN"]))
            gx = cert.get("extensions", {})
            for oid, e in exts.items():
                if gx.get(oid, {}).get("value") != e["value"]:
                    bad.append("%s: %r, expected %r" % (
                        oid, gx.get(oid, {}).get("value"), e["value"]))
            for oid in gx:
                if oid not in exts:
                    bad.append("%s: reported but not in the certificate" % oid)
    return bad


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "check-all":
        check_all(sys.argv[2])
        return
    if len(sys.argv) != 4 or sys.argv[1] not in ("verify", "inspect"):
        sys.exit("usage: cli_vectors.py verify|inspect TESTDATA OUTDIR\n"
                 "       cli_vectors.py check-all PENDINGFILE")
    td, outdir = sys.argv[2], sys.argv[3]
    out = Out(outdir)
    if sys.argv[1] == "verify":
        merkle_cases(out, td)
        tessera_cases(out, td)
        note_cases(out, td)
        rekor_checkpoint_cases(out, td)
        bundle_checkpoint_cases(out, td)
        entry_cases(out, td)
        malformed_cases(out, td)
    else:
        inspect_cases(out, td)
        inspect_root_cases(out, td)
        inspect_malformed_cases(out, td)
    out.write()


if __name__ == "__main__":
    main()
