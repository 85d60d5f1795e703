#!/usr/bin/env node
// npm run build: writes the npm package to npm/ (ESM + CJS + .d.ts) from the
// same sources as JSR, with a package.json generated from deno.json, then
// runs publint, arethetypeswrong and the consumer smoke test.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const out = join(root, "npm");
const bin = (name) => join(root, "node_modules/.bin", name);

function run(command, args, options = {}) {
  console.log(`$ ${[command, ...args].join(" ").replace(root + "/", "")}`);
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: "inherit",
    ...options,
  });
  if (result.status !== 0) {
    console.error(`build: '${command} ${args.join(" ")}' failed`);
    process.exit(1);
  }
}

const denoJson = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
// The default User-Agent names the version: it must be the one published.
const versionSource = readFileSync(join(root, "src/_version.ts"), "utf8");
if (!versionSource.includes(`VERSION = "${denoJson.version}"`)) {
  console.error(
    `build: src/_version.ts does not say VERSION = "${denoJson.version}" (deno.json)`,
  );
  process.exit(1);
}
const devJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
for (const field of ["repository", "homepage", "bugs"]) {
  if (devJson[field] === undefined) {
    console.error(`build: package.json has no '${field}' for the npm page`);
    process.exit(1);
  }
}

// Dependencies: every npm: import in deno.json must be a dependency of the
// dev package.json with the same range, and the other way round.
const dependencies = {};
for (const [name, specifier] of Object.entries(denoJson.imports ?? {})) {
  const match = /^npm:((?:@[^/]+\/)?[^@]+)@(.+)$/.exec(specifier);
  if (!match || match[1] !== name) {
    console.error(
      `build: deno.json import '${name}' must be 'npm:${name}@<range>'`,
    );
    process.exit(1);
  }
  dependencies[name] = match[2];
}
const drift = [];
for (const [name, range] of Object.entries(dependencies)) {
  if (devJson.dependencies?.[name] !== range) {
    drift.push(
      `${name}: deno.json has ${range}, package.json has ${
        devJson.dependencies?.[name]
      }`,
    );
  }
}
for (const name of Object.keys(devJson.dependencies ?? {})) {
  if (!(name in dependencies)) {
    drift.push(`${name}: in package.json but not in deno.json imports`);
  }
}
if (typeof denoJson.exports !== "string" || denoJson.exports !== "./mod.ts") {
  drift.push(
    `deno.json exports must be "./mod.ts" (the npm exports map mirrors it)`,
  );
}
if (drift.length > 0) {
  console.error(
    "build: deno.json and package.json drifted:\n  " + drift.join("\n  "),
  );
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const common = [
  "--ignoreConfig",
  "--module",
  "NodeNext",
  "--moduleResolution",
  "NodeNext",
  "--declaration",
  "--skipLibCheck",
  "--strict",
  "--target",
  "ES2022",
  "--lib",
  "ES2022,ESNext.Disposable,DOM,DOM.Iterable",
  "--types",
  "node",
  "--rewriteRelativeImportExtensions",
  "--allowImportingTsExtensions",
  "--noImplicitOverride",
  "--verbatimModuleSyntax",
  "false",
];
const sources = ["mod.ts", ...listSources("src")];
run(bin("tsc"), [
  ...common,
  "--rootDir",
  ".",
  "--outDir",
  join(out, "esm"),
  ...sources,
]);
// The CJS pass compiles a copy of the sources inside a "type": "commonjs" folder.
const cjsSrc = join(root, ".build", "cjs-src");
rmSync(cjsSrc, { recursive: true, force: true });
mkdirSync(cjsSrc, { recursive: true });
for (const file of sources) {
  cpSync(join(root, file), join(cjsSrc, file), { recursive: true });
}
writeFileSync(join(cjsSrc, "package.json"), '{ "type": "commonjs" }\n');
run(bin("tsc"), [
  ...common,
  "--rootDir",
  cjsSrc,
  "--outDir",
  join(out, "cjs"),
  ...sources.map((f) => join(cjsSrc, f)),
]);
writeFileSync(join(out, "cjs", "package.json"), '{ "type": "commonjs" }\n');

const pkg = {
  name: "@x/sessions",
  version: denoJson.version,
  description:
    "HTTP sessions for Deno, Node and Bun: one pooled, configured session for many requests, closed cleanly; session containers for API wrappers.",
  license: denoJson.license,
  // Where the npm page links to; the README's links use the same repository.
  repository: devJson.repository,
  homepage: devJson.homepage,
  bugs: devJson.bugs,
  type: "module",
  main: "./cjs/mod.js",
  module: "./esm/mod.js",
  types: "./esm/mod.d.ts",
  exports: {
    ".": {
      import: { types: "./esm/mod.d.ts", default: "./esm/mod.js" },
      require: { types: "./cjs/mod.d.ts", default: "./cjs/mod.js" },
    },
    "./package.json": "./package.json",
  },
  files: ["esm", "cjs", "README.md", "LICENSE"],
  sideEffects: false,
  engines: { node: ">=20.19" },
  keywords: [
    "http",
    "session",
    "client",
    "fetch",
    "undici",
    "pool",
    "deno",
    "bun",
    "keep-alive",
  ],
  dependencies,
};
writeFileSync(join(out, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
cpSync(join(root, "README.md"), join(out, "README.md"));
cpSync(join(root, "LICENSE"), join(out, "LICENSE"));

run(bin("publint"), ["--strict", out]);
run(bin("attw"), ["--pack", out]);
if (!process.argv.includes("--no-smoke")) {
  run(process.execPath, ["scripts/smoke_npm.mjs"]);
}
console.log("build: npm/ is ready");

function listSources(dir) {
  const files = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) {
      files.push(...listSources(path));
    } else if (name.endsWith(".ts")) files.push(path);
  }
  return files;
}
