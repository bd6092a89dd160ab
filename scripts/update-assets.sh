#!/usr/bin/env bash
# Build the U.S. Web Design System (USWDS) 3 subset the portal serves into
# portal/static/vendor/uswds/.
#
# Usage (from anywhere; paths are resolved against the repository root):
#   scripts/update-assets.sh              # newest published 3.x release
#   USWDS_VERSION=3.14.0 scripts/update-assets.sh   # an exact 3.x release
#
# What it does (needs node and npm, and the npm registry; nothing else):
#   1. `npm pack @uswds/uswds@<spec>` into a temporary directory (no install,
#      no lifecycle scripts, nothing written to the repository) and untars it.
#   2. Installs the build tools pinned by assets/uswds/package-lock.json
#      (`npm ci --ignore-scripts`, in the temporary directory).
#   3. assets/uswds/build.js compiles assets/uswds/portal-uswds.scss, USWDS's
#      own Sass with only the packages the templates use, through upstream's
#      pipeline (Sass, autoprefixer, csso) into css/uswds.min.css; checks that
#      its rules are upstream's, in upstream's order, and that every USWDS
#      class a template or script names is in it; and bundles the two USWDS
#      behaviours the pages use (assets/uswds/uswds-*.js) into js/.
#   4. Copies ONLY the image and font files the stylesheet references through
#      relative url(...) targets (plus EXTRA_ASSETS below), keeping the dist/
#      layout (css/, js/, img/, fonts/) so the paths resolve, then appends
#      ?v=<content hash> to those url()s so browsers may cache them for a year.
#   5. Copies LICENSE.md and writes README.md with the version, the tarball
#      integrity, the build tools' versions and checksums.
#   6. Verifies that every url() in the vendored CSS resolves to a vendored
#      file with the right ?v=, and that no vendored img/font is unused.
#
# Idempotent: the output depends only on the package version, the lockfile and
# the files in assets/uswds/, so running it again leaves the tree byte-for-byte
# unchanged.
set -euo pipefail

MAJOR=3
SPEC="${USWDS_VERSION:-$MAJOR}"
case "$SPEC" in
  "$MAJOR" | "$MAJOR".*) ;;
  *)
    echo "update-assets: USWDS_VERSION must be $MAJOR or $MAJOR.x[.y] (got '$SPEC')" >&2
    exit 2
    ;;
esac

# Files under dist/ that templates reference directly from HTML (the CSS parse
# cannot see those): the close button of the mobile menu (base.html) and the
# warning icon of overdue and blocking states.
EXTRA_ASSETS=(img/usa-icons/close.svg img/usa-icons/warning.svg)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCES="$REPO_ROOT/assets/uswds"
DEST_REL="portal/static/vendor/uswds"
DEST="$REPO_ROOT/$DEST_REL"

for tool in npm node tar; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "update-assets: '$tool' is required but not found on PATH" >&2
    exit 1
  }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/uswds-assets.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "update-assets: fetching @uswds/uswds@$SPEC from the npm registry ..."
# --json gives us the exact file name, version and integrity of what was packed.
(cd "$WORK" && npm pack "@uswds/uswds@$SPEC" --json --ignore-scripts \
  --pack-destination "$WORK" --loglevel=error >"$WORK/pack.json")

read -r VERSION TARBALL INTEGRITY < <(node -e '
  const info = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0];
  process.stdout.write([info.version, info.filename, info.integrity].join(" ") + "\n");
' "$WORK/pack.json")

case "$VERSION" in
  "$MAJOR".*) ;;
  *)
    echo "update-assets: expected a $MAJOR.x release, npm returned '$VERSION'" >&2
    exit 1
    ;;
esac

# Unpacked as node_modules would hold it, so the bundler resolves
# `@uswds/uswds/js/usa-header` through the package's own exports map.
MODULES="$WORK/modules"
mkdir -p "$MODULES/@uswds"
tar -xzf "$WORK/$TARBALL" -C "$MODULES/@uswds"
mv "$MODULES/@uswds/package" "$MODULES/@uswds/uswds"
PKG="$MODULES/@uswds/uswds"
DIST="$PKG/dist"

# Sanity-check what we got before touching the repository.
PKG_VERSION="$(node -p 'require(process.argv[1]).version' "$PKG/package.json")"
if [ "$PKG_VERSION" != "$VERSION" ]; then
  echo "update-assets: package.json says $PKG_VERSION, npm pack said $VERSION" >&2
  exit 1
fi
for f in dist/css/uswds.css packages/uswds-core/_index.scss .browserslistrc LICENSE.md; do
  [ -e "$PKG/$f" ] || { echo "update-assets: $f missing from the package" >&2; exit 1; }
done

echo "update-assets: installing the build tools (assets/uswds/package-lock.json) ..."
TOOLS="$WORK/tools"
mkdir -p "$TOOLS"
cp "$SOURCES/package.json" "$SOURCES/package-lock.json" "$SOURCES/build.js" "$TOOLS/"
(cd "$TOOLS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
tool_version() { node -p 'require(process.argv[1] + "/package.json").version' "$TOOLS/node_modules/$1"; }
TOOL_VERSIONS=""
for tool in sass postcss autoprefixer postcss-csso caniuse-lite esbuild; do
  TOOL_VERSIONS="$TOOL_VERSIONS${TOOL_VERSIONS:+, }$tool $(tool_version "$tool")"
done

# Relative url() targets of a stylesheet, resolved against the stylesheet's own
# directory and printed relative to ROOT, one per line, de-duplicated and
# sorted. Skips url() with no target (USWDS uses `@supports (mask:url())`),
# data:, absolute (scheme:, //host, /path) and fragment-only (#id) targets.
# Fails if a target escapes ROOT. Prints "TOTAL <n>" (occurrences) on stderr.
# With a third argument "versioned", also fails unless each target carries
# ?v=<the first 12 hex digits of its SHA-256>, as portal/static_files.py would.
list_css_urls() { # ROOT CSS_REL_PATH [versioned]
  node - "$1" "$2" "${3:-}" <<'NODE'
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const [root, cssRel, versioned] = process.argv.slice(2);
const css = fs.readFileSync(path.join(root, cssRel), "utf8")
  .replace(/\/\*[\s\S]*?\*\//g, ""); // ignore comments
const re = /url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"]*?))\s*\)/gi;
const out = new Set();
let total = 0;
for (const m of css.matchAll(re)) {
  let target = (m[1] ?? m[2] ?? m[3] ?? "").trim();
  if (!target) continue;                               // url() in @supports
  if (/^(?:[a-z][a-z0-9+.-]*:|\/|#)/i.test(target)) continue; // data:, http:, /x, //x, #x
  const query = (target.match(/\?([^#]*)/) || [, ""])[1];
  target = target.split(/[?#]/)[0];                   // font ?#iefix etc.
  if (!target) continue;
  total++;
  const resolved = path.posix.normalize(
    path.posix.join(path.posix.dirname(cssRel), decodeURIComponent(target)));
  if (resolved.startsWith("../") || path.posix.isAbsolute(resolved)) {
    console.error(`update-assets: url(${target}) escapes the package dist/ tree`);
    process.exit(1);
  }
  if (versioned && fs.existsSync(path.join(root, resolved))) {
    const digest = crypto.createHash("sha256")
      .update(fs.readFileSync(path.join(root, resolved))).digest("hex").slice(0, 12);
    if (new URLSearchParams(query).get("v") !== digest) {
      console.error(`update-assets: url(${target}) does not carry ?v=${digest}`);
      process.exit(1);
    }
  }
  out.add(resolved);
}
for (const p of [...out].sort()) console.log(p);
console.error(`TOTAL ${total}`);
NODE
}

# Stage the new tree next to the old one, then swap, so a failure half way
# never leaves a broken vendor directory behind.
STAGE="$WORK/uswds"
mkdir -p "$STAGE"
echo "update-assets: building the stylesheet and scripts ..."
(cd "$TOOLS" && BROWSERSLIST_IGNORE_OLD_DATA=1 node build.js build "$PKG" "$MODULES" "$REPO_ROOT" "$STAGE")
cp "$PKG/LICENSE.md" "$STAGE/LICENSE.md"

list_css_urls "$STAGE" css/uswds.min.css >"$WORK/assets.txt" 2>"$WORK/assets.err" || {
  cat "$WORK/assets.err" >&2
  exit 1
}
mapfile -t ASSETS <"$WORK/assets.txt"
N_IMG="$(printf '%s\n' "${ASSETS[@]}" | grep -c '^img/' || true)"
N_FONT="$(printf '%s\n' "${ASSETS[@]}" | grep -c '^fonts/' || true)"
ASSETS+=("${EXTRA_ASSETS[@]}")
for rel in "${ASSETS[@]}"; do
  case "$rel" in
    img/* | fonts/*) ;;
    *) echo "update-assets: unexpected asset location '$rel'" >&2; exit 1 ;;
  esac
  [ -f "$DIST/$rel" ] || { echo "update-assets: $rel is not in the package" >&2; exit 1; }
  mkdir -p "$STAGE/$(dirname "$rel")"
  cp "$DIST/$rel" "$STAGE/$rel"
done
(cd "$TOOLS" && node build.js version-urls "$STAGE")

# Checksums of everything vendored (stable order), recorded in the README.
CHECKSUMS="$(cd "$STAGE" && find . -type f ! -name README.md -print | LC_ALL=C sort | sed 's|^\./||' |
  xargs sha256sum)"
FONT_LIST="$(printf '%s\n' "${ASSETS[@]}" | grep '^fonts/' | LC_ALL=C sort -u | sed 's|^|  - `|; s|$|`|')"

cat >"$STAGE/README.md" <<EOF
# Vendored U.S. Web Design System (USWDS), the portal's subset

- Package: \`@uswds/uswds\` **$VERSION** (major version $MAJOR pinned)
- Source: the npm registry, \`npm pack @uswds/uswds@$SPEC\` (tarball \`$TARBALL\`)
- Tarball integrity: \`$INTEGRITY\`
- Built with (pinned by \`assets/uswds/package-lock.json\`): $TOOL_VERSIONS
- Licence: see [LICENSE.md](LICENSE.md) (copied unchanged from the package)

**Do not edit these files by hand.** Rebuild them with \`make assets\`, which
runs \`scripts/update-assets.sh\` from the repository root (set
\`USWDS_VERSION=3.x.y\` to pin an exact 3.x release; the default is the newest
3.x). The script replaces this whole folder. To use another USWDS component,
add its package to \`assets/uswds/portal-uswds.scss\` and run \`make assets\`.

## What is here

Built from the package's own sources with its own pipeline, keeping the
\`dist/\` layout so the relative \`url(...)\` paths in the stylesheet resolve:

- \`css/uswds.min.css\`: \`assets/uswds/portal-uswds.scss\`, USWDS's Sass with
  only the packages the templates use and the default theme, compiled with
  Sass, autoprefixer (the package's \`.browserslistrc\`) and csso as upstream
  does. Its rules are upstream's \`dist/css/uswds.css\` rules, in the same order.
- \`js/uswds-navigation.min.js\` (every page: the header's mobile menu): the
  package's \`usa-header\` behaviour, bundled alone with esbuild from
  \`assets/uswds/uswds-navigation.js\`. (USWDS's file-input behaviour is not used:
  its drop-zone words are English only; the portal's file inputs are native.)
- only the $N_IMG image(s) under \`img/\` and $N_FONT font(s) under \`fonts/\` that
  \`css/uswds.min.css\` references through \`url(...)\`, plus the file(s) the
  templates reference (EXTRA_ASSETS in the script): ${EXTRA_ASSETS[*]}.
  The fonts (one \`@font-face\` each, nothing else declared):
$FONT_LIST

Each \`url(...)\` in the stylesheet carries \`?v=\` and the first 12 hex digits
of the SHA-256 of the file it names, like every \`url_for('static', ...)\` of the
portal, so browsers keep them for a year and fetch them again when they change.

## SHA-256

\`\`\`
$CHECKSUMS
\`\`\`
EOF

# Verify the staged tree: every url() in the vendored CSS must resolve to a
# vendored file and carry its version, and no vendored img/font may be unreferenced.
VERIFY_ERR="$WORK/verify.err"
list_css_urls "$STAGE" css/uswds.min.css versioned >"$WORK/refs.txt" 2>"$VERIFY_ERR" || {
  cat "$VERIFY_ERR" >&2
  exit 1
}
mapfile -t REFS <"$WORK/refs.txt"
TOTAL_REFS="$(sed -n 's/^TOTAL //p' "$VERIFY_ERR")"
missing=0
for rel in "${REFS[@]}"; do
  if [ ! -f "$STAGE/$rel" ]; then
    echo "update-assets: MISSING $rel" >&2
    missing=$((missing + 1))
  fi
done
unused="$(comm -13 <(printf '%s\n' "${REFS[@]}" "${EXTRA_ASSETS[@]}" | LC_ALL=C sort -u) \
  <(cd "$STAGE" && find img fonts -type f 2>/dev/null | LC_ALL=C sort))"
if [ "$missing" -ne 0 ] || [ -n "$unused" ]; then
  [ -z "$unused" ] || printf 'update-assets: UNUSED %s\n' $unused >&2
  echo "update-assets: verification failed" >&2
  exit 1
fi

# Swap into place.
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
cp -R "$STAGE" "$DEST"

echo "update-assets: vendored the @uswds/uswds $VERSION subset into $DEST_REL/"
echo "update-assets: $N_IMG image(s), $N_FONT font file(s) copied"
echo "update-assets: checked $TOTAL_REFS url() reference(s) ($((${#REFS[@]})) distinct file(s)) in css/uswds.min.css: all resolve, all versioned"
