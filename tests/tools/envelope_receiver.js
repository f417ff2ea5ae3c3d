// envelope_receiver.js: a loopback webhook receiver that judges what it
// gets with independent reference implementations, for e2e_envelopes.sh.
//   node envelope_receiver.js PORT LOGFILE [whsec_KEY ...]
// (NODE_PATH must hold standardwebhooks and cloudevents: tests/tools/npm-deps.sh)
// For every request it appends one JSON line to LOGFILE: path, headers,
// body, and its verdicts:
//   std.keys[i]   Standard Webhooks verify() with KEY i alone: "ok" or the
//                 library's error (so a rotation shows both keys verifying)
//   std.tampered  verify() of the body with one byte changed (must fail)
//   std.old       verify() with webhook-timestamp an hour earlier (must
//                 fail as too old)
//   std.wrongkey  verify() with a fresh random key (must fail)
//   ce.schema     the CloudEvents 1.0 JSON schema validator shipped by the
//                 cloudevents package: "ok" or its errors
//   ce.sdk        the cloudevents SDK's HTTP.toEvent() + validate()
// It answers 204, and prints "listening" once it listens.
"use strict";
const http = require("http");
const fs = require("fs");
const crypto = require("crypto");
const { Webhook } = require("standardwebhooks");
const { HTTP } = require("cloudevents");
const validateCE = require("cloudevents/dist/schema/v1.js");

const [port, logFile, ...keys] = process.argv.slice(2);

function attempt(fn) {
  try {
    fn();
    return "ok";
  } catch (e) {
    return String(e && e.message ? e.message : e);
  }
}

function judge(req, body) {
  const h = req.headers;
  const out = {};
  if (h["webhook-signature"] !== undefined) {
    const raw = Buffer.from(body);
    out.std = { keys: keys.map((k) => attempt(() => new Webhook(k).verify(raw, h))) };
    if (keys.length > 0) {
      const wh = new Webhook(keys[0]);
      const bad = Buffer.from(raw);
      bad[Math.floor(bad.length / 2)] ^= 1;
      out.std.tampered = attempt(() => wh.verify(bad, h));
      const old = Object.assign({}, h, {
        "webhook-timestamp": String(Number(h["webhook-timestamp"]) - 3600),
      });
      out.std.old = attempt(() => wh.verify(raw, old));
      const other = "whsec_" + crypto.randomBytes(32).toString("base64");
      out.std.wrongkey = attempt(() => new Webhook(other).verify(raw, h));
    }
  }
  if ((h["content-type"] || "").startsWith("application/cloudevents+json")) {
    let doc = null;
    out.ce = {};
    try {
      doc = JSON.parse(body);
    } catch (e) {
      out.ce.schema = "not JSON: " + e.message;
    }
    if (doc !== null) {
      out.ce.schema = validateCE(doc) ? "ok" : JSON.stringify(validateCE.errors);
    }
    out.ce.sdk = attempt(() => {
      const ev = HTTP.toEvent({ headers: h, body: body });
      const one = Array.isArray(ev) ? ev[0] : ev;
      one.validate();
      if (one.id !== doc.id || one.type !== doc.type) {
        throw new Error("the SDK read other attributes");
      }
    });
  }
  return out;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const rec = {
      method: req.method,
      path: req.url,
      headers: req.headers,
      body: body,
      verdict: judge(req, body),
    };
    fs.appendFileSync(logFile, JSON.stringify(rec) + "\n");
    res.writeHead(204);
    res.end();
  });
});
server.listen(Number(port), "127.0.0.1", () => {
  console.log("listening");
});
