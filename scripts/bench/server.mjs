// The benchmark's upstream: a keep-alive node:http server on 127.0.0.1 that
// answers every GET with the same 105-byte JSON body and counts the TCP
// connections it accepts. Driven over the IPC channel by run.mjs:
//   { cmd: "reset" }  -> zero the counters, reply { accepted, open, peakOpen }
//   { cmd: "stats" }  -> reply { accepted, open, peakOpen }
//
//   server.mjs [ports]  listen on that many ports of 127.0.0.1 (default 1,
//                       for scale.mjs's many origins); GET /slow answers
//                       after 60 s (a request to queue others behind).
//   server.mjs tls      one port over TLS that speaks HTTP/2 and HTTP/1.1
//                       (h2.mjs), with a certificate of a CA made at start;
//                       the CA's PEM file is in the ready message (caFile).
// Started by run.mjs and scale.mjs only; prints nothing but its ports (over IPC).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createSecureServer } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const body = Buffer.from(
  JSON.stringify({
    id: 42,
    name: "Ada Lovelace",
    email: "ada@example.com",
    roles: ["admin", "user"],
    active: true,
  }).padEnd(105, " "),
);
if (body.length !== 105) throw new Error(`body is ${body.length} bytes`);

let accepted = 0;
let open = 0;
let peakOpen = 0;

function answer(res) {
  res.writeHead(200, {
    "content-type": "application/json",
    "content-length": body.length,
  });
  res.end(body);
}

function handle(req, res) {
  req.resume();
  if (req.url !== "/slow") return answer(res);
  const timer = setTimeout(() => answer(res), 60_000);
  res.on("close", () => clearTimeout(timer));
}

function count(server) {
  server.on("connection", (socket) => {
    accepted++;
    open++;
    if (open > peakOpen) peakOpen = open;
    socket.on("close", () => open--);
  });
}

function listen() {
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  count(server);
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(server.address().port))
  );
}

const stats = () => ({ accepted, open, peakOpen });
process.on("message", (message) => {
  if (message.cmd === "reset") {
    const before = stats();
    accepted = 0;
    peakOpen = open;
    process.send({ id: message.id, ...before });
  } else if (message.cmd === "stats") {
    process.send({ id: message.id, ...stats() });
  }
});
process.on("disconnect", () => process.exit(0));

// Over TLS, HTTP/2 with HTTP/1.1 allowed, with a CA made now (its PEM is
// written to a temporary file the clients read).
async function listenTls() {
  const { makeCertificates } = await import(
    "../../tests/fixtures/_certs.mjs"
  );
  const pem = await makeCertificates("127.0.0.1");
  const dir = mkdtempSync(join(tmpdir(), "x-sessions-bench-"));
  const caFile = join(dir, "ca.pem");
  writeFileSync(caFile, pem.ca);
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const server = createSecureServer(
    { key: pem.serverKey, cert: pem.serverCert, allowHTTP1: true },
    handle,
  );
  count(server);
  const port = await new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(server.address().port))
  );
  return { port, caFile };
}

const tls = process.argv[2] === "tls";
const total = tls ? 0 : Number(process.argv[2] ?? 1);
const ports = [];
for (let i = 0; i < total; i++) ports.push(await listen());
if (tls) {
  const { port, caFile } = await listenTls();
  process.send({ ready: true, ports: [port], caFile });
} else {
  process.send({ ready: true, ports });
}
