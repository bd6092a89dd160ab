// Build the portal's USWDS subset; run by scripts/update-assets.sh, never by hand.
//
//   node build.js build PKG_DIR MODULES_DIR REPO_ROOT STAGE_DIR
//       Compile assets/uswds/portal-uswds.scss with USWDS's own pipeline (Sass, then
//       autoprefixer with the package's .browserslistrc, then csso), check the result against
//       upstream's full stylesheet, and bundle the USWDS behaviours the pages use.
//   node build.js version-urls STAGE_DIR
//       Append ?v=<content hash> to every url() in the staged stylesheet, so the fonts and images
//       it loads are cached as long as the stylesheet (the portal's url_for does the same).
//
// The checks fail the build (exit 1), before anything in the repository is touched:
// - cascade: every rule of the subset is in upstream's dist/css/uswds.css, in the same order
//   (a rule made by @extend may list fewer selectors), so what is kept looks as before;
// - classes: every class of upstream's stylesheet that a template or a script of the portal
//   names is defined by the subset.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

// Hex digits of SHA-256 in a ?v= version; portal/static_files.py VERSION_LENGTH is the same.
const VERSION_LENGTH = 12;

// USWDS behaviours bundled on their own: entry file in assets/uswds/ -> vendored file.
const SCRIPTS = {
  "uswds-navigation.js": "js/uswds-navigation.min.js",
};

function fail(message) {
  console.error(`update-assets: ${message}`);
  process.exit(1);
}

function* walk(dir, pattern) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full, pattern);
    else if (pattern.test(entry.name)) yield full;
  }
}

function ruleSignatures(postcss, css) {
  // One entry per style rule: its at-rule context, selectors and unprefixed declarations.
  // Vendor prefixes are left out: they depend on the caniuse data autoprefixer had that day.
  const rules = [];
  postcss.parse(css).walkRules((rule) => {
    const context = [];
    for (let node = rule.parent; node && node.type === "atrule"; node = node.parent) {
      context.unshift(`@${node.name} ${node.params}`);
    }
    const declarations = [];
    rule.each((node) => {
      if (node.type === "decl" && !/^-(webkit|moz|ms|o)-/.test(`${node.prop} ${node.value}`)) {
        declarations.push(`${node.prop}:${node.value}${node.important ? "!important" : ""}`);
      }
    });
    rules.push({
      key: `${context.join(" ")} { ${declarations.join(";")} }`,
      selectors: rule.selectors.map((s) => s.replace(/\s+/g, " ").trim()),
    });
  });
  return rules;
}

function checkCascade(postcss, ours, upstream) {
  const theirs = ruleSignatures(postcss, upstream);
  const byKey = new Map();
  theirs.forEach((rule, index) => {
    if (!byKey.has(rule.key)) byKey.set(rule.key, []);
    byKey.get(rule.key).push(index);
  });
  let last = -1;
  const problems = [];
  for (const rule of ruleSignatures(postcss, ours)) {
    const next = (byKey.get(rule.key) || []).find((index) => {
      const upstreamSelectors = new Set(theirs[index].selectors);
      return index > last && rule.selectors.every((s) => upstreamSelectors.has(s));
    });
    if (next === undefined) {
      problems.push(`${rule.selectors.join(", ")} ${rule.key}`.slice(0, 300));
    } else {
      last = next;
    }
  }
  if (problems.length) {
    fail(
      `${problems.length} rule(s) of the subset are not in upstream's uswds.css in the same ` +
        `order (a package out of upstream's order in portal-uswds.scss?):\n  ${problems
          .slice(0, 10)
          .join("\n  ")}`,
    );
  }
}

function classesOf(postcss, css) {
  const classes = new Set();
  postcss.parse(css).walkRules((rule) => {
    for (const match of rule.selector.matchAll(/\.((?:[A-Za-z_-]|\\.)(?:[\w-]|\\.)*)/g)) {
      classes.add(match[1].replace(/\\(.)/g, "$1"));
    }
  });
  return classes;
}

function checkClasses(postcss, ours, upstream, repoRoot) {
  const known = classesOf(postcss, upstream);
  const defined = classesOf(postcss, ours);
  const missing = new Map();
  const sources = [
    [path.join(repoRoot, "portal/templates"), /\.html$/],
    [path.join(repoRoot, "portal/static/js"), /\.js$/],
  ];
  for (const [dir, pattern] of sources) {
    for (const file of walk(dir, pattern)) {
      const words = fs.readFileSync(file, "utf8").match(/[A-Za-z][\w:-]*[A-Za-z0-9]/g) || [];
      for (const word of words) {
        if (known.has(word) && !defined.has(word)) {
          missing.set(word, path.relative(repoRoot, file));
        }
      }
    }
  }
  if (missing.size) {
    const list = [...missing].map(([name, file]) => `${name} (${file})`).join("\n  ");
    fail(
      `USWDS class(es) the portal uses are not in the subset; add their package or utility ` +
        `to assets/uswds/portal-uswds.scss:\n  ${list}`,
    );
  }
  return defined.size;
}

async function build(pkgDir, modulesDir, repoRoot, stageDir) {
  const sass = require("sass");
  const postcss = require("postcss");
  const autoprefixer = require("autoprefixer");
  const csso = require("postcss-csso");
  const discardComments = require("postcss-discard-comments");
  const esbuild = require("esbuild");

  const version = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
  const browsers = fs
    .readFileSync(path.join(pkgDir, ".browserslistrc"), "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);

  // Upstream's pipeline (the package's tasks/sass.js), without source maps.
  const entry = path.join(repoRoot, "assets/uswds/portal-uswds.scss");
  const compiled = sass.compile(entry, {
    loadPaths: [path.join(pkgDir, "packages")],
    style: "expanded",
    quietDeps: true,
  });
  const expanded = (
    await postcss([discardComments(), autoprefixer({ overrideBrowserslist: browsers })]).process(
      compiled.css,
      { from: undefined },
    )
  ).css;
  const minified = (await postcss([csso({ forceMediaMerge: false })]).process(expanded, {
    from: undefined,
  })).css.replace(/\buswds @version\b/g, `uswds v${version}`);

  const upstream = fs.readFileSync(path.join(pkgDir, "dist/css/uswds.css"), "utf8");
  checkCascade(postcss, expanded, upstream);
  const classes = checkClasses(postcss, expanded, upstream, repoRoot);
  fs.mkdirSync(path.join(stageDir, "css"), { recursive: true });
  fs.writeFileSync(path.join(stageDir, "css/uswds.min.css"), `${minified}\n`);
  console.log(
    `update-assets: css/uswds.min.css: ${minified.length} bytes, ${classes} classes, ` +
      `same rules and order as upstream's full stylesheet`,
  );

  for (const [source, target] of Object.entries(SCRIPTS)) {
    const name = source.replace(/\.js$/, "");
    await esbuild.build({
      entryPoints: [path.join(repoRoot, "assets/uswds", source)],
      outfile: path.join(stageDir, target),
      nodePaths: [modulesDir],
      bundle: true,
      minify: true,
      format: "iife",
      target: "es2017",
      legalComments: "none",
      banner: { js: `/*! uswds v${version}: ${name} (assets/uswds/${source}) */` },
      logLevel: "warning",
    });
    console.log(`update-assets: ${target}: ${fs.statSync(path.join(stageDir, target)).size} bytes`);
  }
}

function versionUrls(stageDir) {
  // Every relative url() of the stylesheet gets ?v=<hash of the file it names>.
  const cssPath = path.join(stageDir, "css/uswds.min.css");
  const css = fs.readFileSync(cssPath, "utf8");
  const versioned = css.replace(/url\(\s*(["']?)([^)"'?#]+)([?#][^)"']*)?\1\s*\)/g, (all, q, target) => {
    if (/^(?:[a-z][a-z0-9+.-]*:|\/|#)/i.test(target)) return all;
    const file = path.join(path.dirname(cssPath), decodeURIComponent(target));
    const digest = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    return `url(${q}${target}?v=${digest.slice(0, VERSION_LENGTH)}${q})`;
  });
  fs.writeFileSync(cssPath, versioned);
}

const [command, ...args] = process.argv.slice(2);
if (command === "build" && args.length === 4) {
  build(...args).catch((error) => fail(error.stack || String(error)));
} else if (command === "version-urls" && args.length === 1) {
  versionUrls(...args);
} else {
  fail("usage: node build.js build PKG MODULES REPO STAGE | version-urls STAGE");
}
