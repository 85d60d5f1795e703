#!/usr/bin/env node
// Packs npm/, installs the tarball into a fresh temporary project, and uses it
// from ESM import, CJS require and a type-checked TypeScript consumer, on
// Node 20, 22 and 24 (installed by scripts/runtimes.mjs), each named with
// the version it reports.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { NODE_MAJORS, runtimeBin, runtimeVersion } from "./runtimes.mjs";

const root = resolve(import.meta.dirname, "..");
const npmDir = join(root, "npm");
if (!existsSync(join(npmDir, "package.json"))) {
  console.error("smoke: npm/ is missing; run `npm run build` first");
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), "x-sessions-smoke-"));
const sh = (command, args, cwd = work) =>
  execFileSync(command, args, {
    cwd,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
try {
  const tarball = sh("npm", [
    "pack",
    npmDir,
    "--pack-destination",
    work,
    "--silent",
  ]).trim().split("\n").pop();
  writeFileSync(
    join(work, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  sh("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--silent",
    join(work, tarball),
    `typescript@${
      JSON.parse(
        sh("node", [
          "-p",
          "JSON.stringify(require('./node_modules/typescript/package.json').version)",
        ], root),
      )
    }`,
    "@types/node@20",
  ]);

  const server = `
const { createServer } = require("node:http");
function serve() {
  let connections = 0;
  const server = createServer((req, res) => { res.setHeader("content-type", "application/json"); res.end(JSON.stringify({ url: req.url })); });
  server.on("connection", () => connections++);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: "http://127.0.0.1:" + server.address().port, count: () => connections })));
}
module.exports = { serve };
`;
  writeFileSync(join(work, "server.cjs"), server);
  writeFileSync(
    join(work, "esm.mjs"),
    `
import { Session, HttpError, SessionContainer, attachSession } from "@x/sessions";
import { createRequire } from "node:module";
const { serve } = createRequire(import.meta.url)("./server.cjs");
const { server, url, count } = await serve();
const session = new Session({ baseUrl: url + "/v1" });
for (let i = 0; i < 5; i++) {
  const body = await session.get("users/" + i).json();
  if (body.url !== "/v1/users/" + i) throw new Error("ESM: bad body " + JSON.stringify(body));
}
await session.close();
if (count() !== 1) throw new Error("ESM: expected 1 connection, saw " + count());
if (typeof HttpError !== "function") throw new Error("ESM: HttpError missing");
// A session container with the plain-function form (no decorator syntax).
class Api extends SessionContainer {
  constructor() { super({ baseUrl: url, idleDelay: 0 }); }
  get = attachSession(async function (path) { return (await this.session.get(path).json()).url; });
}
const api = new Api();
const urls = await Promise.all([api.get("a"), api.get("b")]);
if (urls.join() !== "/a,/b") throw new Error("ESM: container " + urls.join());
await api.closeSession();
// A session from the ESM build, borrowed by a container of the CJS build.
const cjs = createRequire(import.meta.url)("@x/sessions");
if (cjs.SessionContainer === SessionContainer) throw new Error("ESM: the CJS build is the same module");
const borrowed = new Session({ baseUrl: url });
class CjsApi extends cjs.SessionContainer {
  constructor() { super({ session: borrowed }); }
  get = cjs.attachSession(async function (path) { return (await this.session.get(path).json()).url; });
}
if ((await new CjsApi().get("c")) !== "/c") throw new Error("ESM: CJS container with an ESM session");
if (!(borrowed instanceof cjs.Session)) throw new Error("ESM: instanceof across builds");
await borrowed.close();
server.close();
console.log("esm ok", process.version);
`,
  );
  writeFileSync(
    join(work, "cjs.cjs"),
    `
const { Session, SessionClosedError, SessionContainer, attachSession } = require("@x/sessions");
const { serve } = require("./server.cjs");
async function using_(fn, container) {
  try { await fn(container); } finally { await container.closeSession(); }
}
(async () => {
  const { server, url, count } = await serve();
  const session = new Session({ baseUrl: url });
  const body = await session.get("x").json();
  if (body.url !== "/x") throw new Error("CJS: bad body");
  class Api extends SessionContainer {
    constructor() { super({ baseUrl: url, idleDelay: 0 }); }
  }
  Api.prototype.get = attachSession(async function (path) { return (await this.session.get(path).json()).url; });
  await using_((api) => api.get("y").then((u) => { if (u !== "/y") throw new Error("CJS: container " + u); }), new Api());
  await session.close();
  await session.get("x").then(() => { throw new Error("CJS: closed session answered"); }, (e) => {
    if (!(e instanceof SessionClosedError)) throw e;
  });
  server.close();
  console.log("cjs ok", process.version, count(), "connection(s)");
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  writeFileSync(
    join(work, "consumer.ts"),
    `
import { Session, type SessionOptions, HttpError, type SessionResponse, ResponsePromise, SessionContainer, attachSession, SessionRegistry } from "@x/sessions";
class Api extends SessionContainer {
  constructor() { super({ baseUrl: "https://api.test" }); }
  @attachSession
  async user(id: number): Promise<string> { return await this.session.get("users/" + id).text(); }
}
export const user: Promise<string> = new Api().user(1);
// @ts-expect-error: the decorated method keeps its parameter types
new Api().user("1");
export const registry: SessionRegistry<"a"> = new SessionRegistry({ a: {} });
const options: SessionOptions = { baseUrl: "https://api.test/v1", limit: 10, raiseForStatus: (s) => s >= 500 };
export async function main(): Promise<number> {
  await using session = new Session(options);
  const pending: ResponsePromise = session.get("users/1");
  pending.catch(() => {});
  const handler = (error: unknown) => error instanceof HttpError ? error.status : 0;
  const response: SessionResponse | number = await pending.then((r) => r, handler);
  // @ts-expect-error: limit must be a number
  new Session({ limit: "10" });
  return typeof response === "number" ? response : response.status;
}
`,
  );
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        lib: ["ES2022", "ESNext.Disposable", "DOM"],
        types: ["node"],
        skipLibCheck: false,
      },
      include: ["consumer.ts"],
    }),
  );
  sh(join(work, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"]);
  console.log("smoke: TypeScript consumer type-checks");
  for (const major of NODE_MAJORS) {
    const node = runtimeBin(`node${major}`);
    const name = `node ${runtimeVersion(node)}`;
    if (!name.startsWith(`node ${major}.`)) {
      console.error(`smoke: ${node} is not Node ${major} (${name})`);
      process.exit(1);
    }
    process.stdout.write(`smoke: ${name}: ` + sh(node, ["esm.mjs"]));
    process.stdout.write(`smoke: ${name}: ` + sh(node, ["cjs.cjs"]));
  }
  console.log("smoke: all consumers passed");
} finally {
  rmSync(work, { recursive: true, force: true });
}
