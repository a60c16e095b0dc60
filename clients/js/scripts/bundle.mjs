// The browser bundle: the ES module build as one script that defines
// window.AnalyticsTracker, written into the Python package, which serves it at
// /sdk/tracker.js (so the web app needs no Node at run time).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const { version } = JSON.parse(readFileSync(join(here, "..", "package.json"), "utf8"));
const module = readFileSync(join(here, "..", "dist", "tracker.js"), "utf8");
const exported = [...module.matchAll(/^export (?:function|class|const) (\w+)/gm)].map((m) => m[1]);
const body = module
  .replace(/^export /gm, "")
  // Comments are for the source; the bundle carries the code alone.
  .replace(/^\s*\/\*\*[\s\S]*?\*\/\n/gm, "")
  .replace(/^\s*\/\/.*\n/gm, "");
const bundle =
  `/*! @analytics-pipeline/tracker ${version} | Apache-2.0 */\n` +
  `(function () {\n"use strict";\n${body}\nwindow.AnalyticsTracker = { ${exported.join(", ")}, version: "${version}" };\n})();\n`;
const out = join(here, "..", "..", "..", "analytics_pipeline", "web", "sdk");
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "tracker.js"), bundle);
writeFileSync(join(out, "tracker.json"), JSON.stringify({ version }, null, 2) + "\n");
console.log(`wrote analytics_pipeline/web/sdk/tracker.js (${bundle.length} bytes), version ${version}`);
