#!/usr/bin/env node
// The README is shown on npm and on JSR, where only the published files
// exist (no examples/ or docs/): every link in it must work from there.
//
// Checks README.md: no relative link or image; links into this repository
// (package.json `repository`) name files that exist; `#anchors` name a
// heading. `--fix` rewrites relative links into absolute ones first
// (images to the raw file, others to the file's page).
//
// Usage: node scripts/readme_links.mjs [--fix]
import { existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");

/** The repository's page and raw-file URLs, from package.json. */
export function repositoryUrls() {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const match = /github\.com\/([^/]+)\/([^/.]+)/.exec(
    pkg.repository?.url ?? "",
  );
  if (!match) {
    throw new Error(
      "readme_links: package.json needs repository.url on github.com",
    );
  }
  const [, owner, name] = match;
  return {
    page: `https://github.com/${owner}/${name}/blob/main/`,
    raw: `https://raw.githubusercontent.com/${owner}/${name}/main/`,
  };
}

// GitHub's heading anchors: lower case, punctuation dropped, spaces to "-".
function slug(heading) {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

// [text](target) and ![alt](target), outside code blocks.
function links(markdown) {
  const found = [];
  let inCode = false;
  markdown.split("\n").forEach((line, index) => {
    if (/^\s*```/.test(line)) inCode = !inCode;
    if (inCode) return;
    for (const match of line.matchAll(/(!?)\[[^\]]*\]\(([^)\s]+)\)/g)) {
      found.push({
        image: match[1] === "!",
        target: match[2],
        line: index + 1,
      });
    }
  });
  return found;
}

function headings(markdown) {
  const anchors = new Set();
  let inCode = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) inCode = !inCode;
    const match = !inCode && /^#{1,6}\s+(.*)$/.exec(line);
    if (match) anchors.add(slug(match[1]));
  }
  return anchors;
}

/** Problems with README.md's links (after rewriting them with `fix`). */
export function checkReadme({ fix = false } = {}) {
  const path = join(root, "README.md");
  let markdown = readFileSync(path, "utf8");
  const urls = repositoryUrls();
  if (fix) {
    markdown = markdown.replace(
      /(!?)\[([^\]]*)\]\((?!https?:|#|mailto:)([^)\s]+)\)/g,
      (_, bang, text, target) =>
        `${bang}[${text}](${bang ? urls.raw : urls.page}${
          target.replace(/^\.\//, "")
        })`,
    );
    writeFileSync(path, markdown);
  }
  const anchors = headings(markdown);
  const problems = [];
  for (const { target, line } of links(markdown)) {
    const where = `README.md:${line}: ${target}`;
    if (target.startsWith("#")) {
      if (!anchors.has(target.slice(1))) {
        problems.push(`${where}: no heading has this anchor`);
      }
      continue;
    }
    if (!/^(https?:|mailto:)/.test(target)) {
      problems.push(
        `${where}: relative, so broken on npm and JSR (run with --fix)`,
      );
      continue;
    }
    for (const base of [urls.page, urls.raw]) {
      if (!target.startsWith(base)) continue;
      const file = target.slice(base.length).split("#")[0];
      if (!existsSync(join(root, file))) {
        problems.push(`${where}: ${file} is not in the repository`);
      }
    }
  }
  return problems;
}

// Run as a script (not imported): the loader gives the real path.
if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href
) {
  const problems = checkReadme({ fix: process.argv.includes("--fix") });
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exit(1);
  console.log("readme_links: every README link works on npm and JSR");
}
