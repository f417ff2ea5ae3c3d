#!/usr/bin/env python3
"""oci_push.py: pushes a Nitro enclave artifact and its cosign signature to
a registry through the OCI distribution API, in the layout the real tools
produce, for tests/test_oci.c.

The artifact is laid out as `oras push` 1.1 does it:
  oras push --artifact-type application/vnd.aws.nitro.eif.v1 \
      REG/REPO:TAG enclave.eif eif-info.json [--annotation PCR0=...]
i.e. an image manifest with artifactType, the empty config
(application/vnd.oci.empty.v1+json, "{}"), one layer per file with the
default media type application/vnd.oci.image.layer.v1.tar and an
org.opencontainers.image.title annotation, and manifest annotations
(org.opencontainers.image.created, optional PCRn).

The signature is laid out as `cosign sign` 2.x does it: tag
sha256-<artifact hex>.sig, an image manifest whose config is an image
config listing the payload digest as diff_id and whose one layer is the
simple-signing payload (application/vnd.dev.cosign.simplesigning.v1+json)
with the annotations dev.cosignproject.cosign/signature,
dev.sigstore.cosign/certificate and dev.sigstore.cosign/bundle (a bundle
with Payload.logIndex).  Signature and certificate are placeholders: the
registry client does not verify them (the Rekor entry is verified by the
monitor).

An attestation (--att STATEMENT, after the artifact push or, with
--att-only DIGEST, for an artifact already there) is laid out as
`cosign attest` 2.x does it with a dsse Rekor entry: tag
sha256-<artifact hex>.att, an image manifest like the .sig one (image config
listing the layers as diff_ids) whose layers have media type
application/vnd.dsse.envelope.v1+json, each blob a DSSE envelope
{"payloadType": "application/vnd.in-toto+json", "payload": base64(statement),
"signatures": [{"keyid": "", "sig": ...}]}, with the annotations cosign's
static.NewAttestation gives: dev.cosignproject.cosign/signature "" (the
signature is in the envelope), predicateType (the statement's),
dev.sigstore.cosign/certificate, dev.sigstore.cosign/chain and
dev.sigstore.cosign/bundle (Payload.logIndex = --log-index, Payload.body a
dsse 0.0.1 entry body with the payloadHash).  As cosign does, a second
attestation of the same artifact is appended to the existing .att manifest
(its layers kept, the new one last).  --att-blob FILE pushes FILE's bytes
as such a layer instead of an envelope (junk a registry may hold);
--corrupt-att STORAGE flips a byte of the pushed envelope blob.

Prints one JSON object: data_hash (SHA-256 of the payload: what the Rekor
entry's spec.data.hash.value holds), artifact (manifest digest), info_digest,
eif_digest, sig_tag, signature; with an attestation also att_tag,
att_payload_hash (SHA-256 of the statement: the dsse entry's
spec.payloadHash.value), att_digest (the envelope blob) and att_layers (the
layer count of the .att manifest).  With --att-only only artifact and the
att_ fields.
"""
import argparse
import base64
import concurrent.futures
import hashlib
import http.client
import json
import os
import sys
import urllib.parse

EMPTY = b"{}"


class Registry:
    def __init__(self, hostport):
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)

    def req(self, method, path, body=None, headers=None):
        # one keep-alive connection for the whole push (paging tests push
        # a hundred tags)
        if getattr(self, "c", None) is None:
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            self.c.request(method, path, body=body, headers=headers or {})
            r = self.c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.c.close()
            self.c = None
            raise
        if r.will_close:
            self.c.close()
            self.c = None
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def blob(self, repo, data):
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        st, _, _ = self.req("HEAD", "/v2/%s/blobs/%s" % (repo, d))
        if st == 200:
            return d
        st, h, b = self.req("POST", "/v2/%s/blobs/uploads/" % repo,
                            headers={"Content-Length": "0"})
        if st != 202:
            raise SystemExit("upload start: %d %r" % (st, b))
        loc = urllib.parse.urlsplit(h["location"])
        q = loc.query + ("&" if loc.query else "") + "digest=" + urllib.parse.quote(d)
        st, _, b = self.req("PUT", loc.path + "?" + q, body=data,
                            headers={"Content-Type": "application/octet-stream",
                                     "Content-Length": str(len(data))})
        if st != 201:
            raise SystemExit("upload: %d %r" % (st, b))
        return d

    def manifest(self, repo, ref, body, mt="application/vnd.oci.image.manifest.v1+json"):
        st, _, b = self.req("PUT", "/v2/%s/manifests/%s" % (repo, ref), body=body,
                            headers={"Content-Type": mt})
        if st != 201:
            raise SystemExit("manifest %s: %d %r" % (ref, st, b))
        return "sha256:" + hashlib.sha256(body).hexdigest()


def dumps(o):
    return json.dumps(o, separators=(",", ":")).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--registry", required=True, help="host:port (plain HTTP)")
    ap.add_argument("--repo", required=True)
    ap.add_argument("--info", help="describe-eif JSON file (required but "
                    "with --att-only)")
    ap.add_argument("--ref-host", help="host[:port] in the payload [registry]")
    ap.add_argument("--ref-repo", help="repository in the payload [repo]")
    ap.add_argument("--tag", default="latest", help="artifact tag (commit SHA)")
    ap.add_argument("--log-index", type=int, default=1)
    ap.add_argument("--pcr-annotations", action="store_true")
    ap.add_argument("--mutate-annotation", help="PCRn whose annotation differs")
    ap.add_argument("--no-sig", action="store_true", help="artifact only")
    ap.add_argument("--extra-tags", type=int, default=0,
                    help="also tag the artifact a0000..aNNNN (paging)")
    ap.add_argument("--corrupt-info", metavar="STORAGE",
                    help="then flip a byte of the info blob in this storage dir")
    ap.add_argument("--corrupt-manifest", metavar="STORAGE",
                    help="then change the created annotation in the stored "
                    "artifact manifest (same length, valid JSON, other digest)")
    ap.add_argument("--eif-size", type=int, default=4096)
    ap.add_argument("--signature", help="base64 signature annotation "
                    "[base64 of random bytes]")
    ap.add_argument("--att", metavar="STATEMENT",
                    help="also push a cosign attestation of this statement")
    ap.add_argument("--att-blob", metavar="FILE",
                    help="push FILE's bytes as the attestation layer")
    ap.add_argument("--att-only", metavar="DIGEST",
                    help="push only the attestation, for this artifact")
    ap.add_argument("--corrupt-att", metavar="STORAGE",
                    help="then flip a byte of the envelope blob")
    a = ap.parse_args()

    reg = Registry(a.registry)
    if a.att_only:
        if not (a.att or a.att_blob):
            raise SystemExit("--att-only needs --att or --att-blob")
        print(json.dumps(dict({"artifact": a.att_only}, **push_att(reg, a, a.att_only))))
        return 0
    if not a.info:
        raise SystemExit("--info is required")
    with open(a.info, "rb") as f:
        info = json.load(f)
    if "describeEif" in info:  # the testdata example wraps the output
        info = info["describeEif"]
    if a.corrupt_info:
        # blobs are shared by every repository of the registry: give the one
        # to be corrupted bytes of its own so other pushes stay intact
        info = dict(info, _nonce=os.urandom(8).hex())
    info_bytes = json.dumps(info, indent=2).encode() + b"\n"
    meas = info["Measurements"]

    eif = (b"EIF\x00" + os.urandom(16)) * (a.eif_size // 20 + 1)
    eif = eif[: a.eif_size]
    cfg_d = reg.blob(a.repo, EMPTY)
    eif_d = reg.blob(a.repo, eif)
    info_d = reg.blob(a.repo, info_bytes)
    ann = {"org.opencontainers.image.created": "2024-05-01T12:00:00Z"}
    if a.pcr_annotations:
        for k in ("PCR0", "PCR1", "PCR2", "PCR8"):
            if k in meas:
                v = meas[k]
                if k == a.mutate_annotation:
                    v = ("0" if v[0] != "0" else "1") + v[1:]
                ann[k] = v
    man = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.aws.nitro.eif.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": cfg_d, "size": 2, "data": "e30="},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar",
             "digest": eif_d, "size": len(eif),
             "annotations": {"org.opencontainers.image.title": "enclave.eif"}},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar",
             "digest": info_d, "size": len(info_bytes),
             "annotations": {"org.opencontainers.image.title": "eif-info.json"}},
        ],
        "annotations": ann,
    }
    man_bytes = dumps(man)
    art = reg.manifest(a.repo, a.tag, man_bytes)
    if a.extra_tags:
        def tag_some(start):
            r = Registry(a.registry)
            for i in range(start, a.extra_tags, 8):
                r.manifest(a.repo, "a%04d" % i, man_bytes)
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            for f in [ex.submit(tag_some, k) for k in range(8)]:
                f.result()

    ref = "%s/%s" % (a.ref_host or a.registry, a.ref_repo or a.repo)
    payload = dumps({"critical": {"identity": {"docker-reference": ref},
                                  "image": {"docker-manifest-digest": art},
                                  "type": "cosign container image signature"},
                     "optional": None})
    data_hash = hashlib.sha256(payload).hexdigest()
    sig_tag = "sha256-%s.sig" % art[7:]
    signature = a.signature or base64.b64encode(os.urandom(71)).decode()
    if not a.no_sig:
        pay_d = reg.blob(a.repo, payload)
        scfg = dumps({"architecture": "", "created": "0001-01-01T00:00:00Z",
                      "history": [{"created": "0001-01-01T00:00:00Z"}],
                      "os": "", "rootfs": {"type": "layers", "diff_ids": [pay_d]},
                      "config": {}})
        scfg_d = reg.blob(a.repo, scfg)
        body = base64.b64encode(b'{"apiVersion":"0.0.1","kind":"hashedrekord"}').decode()
        bundle = json.dumps({"SignedEntryTimestamp": base64.b64encode(b"set").decode(),
                             "Payload": {"body": body, "integratedTime": 1714564800,
                                         "logIndex": a.log_index,
                                         "logID": "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"}},
                            separators=(",", ":"))
        sig = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "size": len(scfg), "digest": scfg_d},
            "layers": [{
                "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "size": len(payload), "digest": pay_d,
                "annotations": {
                    "dev.cosignproject.cosign/signature": signature,
                    "dev.sigstore.cosign/bundle": bundle,
                    "dev.sigstore.cosign/certificate": "-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n",
                    "dev.sigstore.cosign/chain": "-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n",
                }}],
        }
        reg.manifest(a.repo, sig_tag, dumps(sig))
    if a.corrupt_info:
        p = os.path.join(a.corrupt_info, "docker/registry/v2/blobs/sha256",
                         info_d[7:9], info_d[7:], "data")
        with open(p, "r+b") as f:
            b = f.read(1)
            f.seek(0)
            f.write(b" " if b != b" " else b"\t")
    if a.corrupt_manifest:
        # the registry serves manifests by digest from these bytes without
        # hashing them again: the artifact digest no longer matches
        p = os.path.join(a.corrupt_manifest, "docker/registry/v2/blobs/sha256",
                         art[7:9], art[7:], "data")
        with open(p, "r+b") as f:
            b = f.read()
            old = b"2024-05-01T12:00:00Z"
            if b.count(old) != 1:
                raise SystemExit("corrupt-manifest: no created annotation")
            f.seek(0)
            f.write(b.replace(old, b"2024-05-01T12:00:01Z"))
    out = {"data_hash": data_hash, "artifact": art,
           "info_digest": info_d, "eif_digest": eif_d, "signature": signature,
           "sig_tag": sig_tag}
    if a.att or a.att_blob:
        out.update(push_att(reg, a, art))
    print(json.dumps(out))
    return 0


PLACEHOLDER_PEM = "-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n"


def push_att(reg, a, art):
    """Adds one attestation layer to the .att manifest of art (created when
    absent), as cosign attest does; returns the att_ output fields."""
    att_tag = "sha256-%s.att" % art[7:]
    sig = base64.b64encode(os.urandom(71)).decode()
    if a.att_blob:
        with open(a.att_blob, "rb") as f:
            blob = f.read()
        statement = b""
        predicate_type = "https://example.com/junk"
    else:
        with open(a.att, "rb") as f:
            statement = f.read()
        predicate_type = json.loads(statement).get("predicateType", "")
        blob = dumps({"payloadType": "application/vnd.in-toto+json",
                      "payload": base64.b64encode(statement).decode(),
                      "signatures": [{"keyid": "", "sig": sig}]})
    payload_hash = hashlib.sha256(statement).hexdigest()
    blob_d = reg.blob(a.repo, blob)
    entry = dumps({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "envelopeHash": {"algorithm": "sha256",
                         "value": hashlib.sha256(blob).hexdigest()},
        "payloadHash": {"algorithm": "sha256", "value": payload_hash},
        "signatures": [{"signature": sig,
                        "verifier": base64.b64encode(PLACEHOLDER_PEM.encode()).decode()}]}})
    bundle = json.dumps({"SignedEntryTimestamp": base64.b64encode(b"set").decode(),
                         "Payload": {"body": base64.b64encode(entry).decode(),
                                     "integratedTime": 1714564800,
                                     "logIndex": a.log_index,
                                     "logID": "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"}},
                        separators=(",", ":"))
    layer = {"mediaType": "application/vnd.dsse.envelope.v1+json",
             "size": len(blob), "digest": blob_d,
             "annotations": {
                 "dev.cosignproject.cosign/signature": "",
                 "dev.sigstore.cosign/bundle": bundle,
                 "dev.sigstore.cosign/certificate": PLACEHOLDER_PEM,
                 "dev.sigstore.cosign/chain": PLACEHOLDER_PEM,
                 "predicateType": predicate_type,
             }}
    layers = []
    st, _, body = reg.req("GET", "/v2/%s/manifests/%s" % (a.repo, att_tag),
                          headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    if st == 200:
        layers = json.loads(body)["layers"]
    layers.append(layer)
    cfg = dumps({"architecture": "", "created": "0001-01-01T00:00:00Z",
                 "history": [{"created": "0001-01-01T00:00:00Z"}] * len(layers),
                 "os": "", "rootfs": {"type": "layers",
                                      "diff_ids": [l["digest"] for l in layers]},
                 "config": {}})
    cfg_d = reg.blob(a.repo, cfg)
    man = {"schemaVersion": 2,
           "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "size": len(cfg), "digest": cfg_d},
           "layers": layers}
    reg.manifest(a.repo, att_tag, dumps(man))
    if a.corrupt_att:
        p = os.path.join(a.corrupt_att, "docker/registry/v2/blobs/sha256",
                         blob_d[7:9], blob_d[7:], "data")
        with open(p, "r+b") as f:
            b = f.read(1)
            f.seek(0)
            f.write(b" " if b != b" " else b"\t")
    return {"att_tag": att_tag, "att_payload_hash": payload_hash,
            "att_digest": blob_d, "att_layers": len(layers)}


if __name__ == "__main__":
    sys.exit(main())
