// The runtimes the tests, checks and build run on (Deno, Bun, Node 20, 22
// and 24), and the benchmark's peers, each installed from its own
// package-lock.json on first use, not by the root `npm ci`: the demo needs
// none of them, and they are nine tenths of the install.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

/** Where the runtimes are installed. */
const RUNTIMES = join(root, "scripts", "runtimes");

/** The Node versions the suite runs on, oldest first. */
export const NODE_MAJORS = [20, 22, 24];

/**
 * Install `dir`'s package-lock.json into `dir/node_modules` unless that
 * exact lock is installed there already (a stamp records its hash).
 */
export function ensureInstalled(dir, what) {
  const lock = readFileSync(join(dir, "package-lock.json"));
  const hash = createHash("sha256").update(lock).digest("hex");
  const stamp = join(dir, "node_modules", ".installed-lock");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === hash) return;
  const relative = dir.slice(root.length + 1);
  console.log(`\n=== installing ${what} (npm ci in ${relative}) ===`);
  const started = performance.now();
  // Inside an npm script npm_execpath names npm's own CLI: use that npm.
  const npmCli = process.env.npm_execpath;
  const [command, prefix] = npmCli && /npm-cli\.c?js$/.test(npmCli)
    ? [process.execPath, [npmCli]]
    : ["npm", []];
  const result = spawnSync(
    command,
    [...prefix, "ci", "--no-audit", "--no-fund", "--prefix", dir],
    { cwd: root, stdio: "inherit", shell: process.platform === "win32" },
  );
  if (result.status !== 0) {
    throw new Error(`installing ${what} failed (npm ci --prefix ${relative})`);
  }
  writeFileSync(stamp, hash);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(`installed ${what} in ${seconds} s`);
}

/** Install the runtimes if needed. */
function ensureRuntimes() {
  ensureInstalled(RUNTIMES, "Deno, Bun and Node 20, 22 and 24");
}

/** Path of an installed runtime: `deno`, `bun`, or `node20`/`node22`/`node24`. */
export function runtimeBin(name) {
  ensureRuntimes();
  const modules = join(RUNTIMES, "node_modules");
  return name.startsWith("node")
    ? join(modules, name, "bin", "node")
    : join(modules, ".bin", name);
}

/** The version a runtime binary reports (`2.9.5`, `20.20.2`), or "?". */
export function runtimeVersion(binary) {
  const out = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout;
  return /(\d+\.\d+\.\d+)/.exec(out ?? "")?.[1] ?? "?";
}
