// The drop zone of `<input type="file" class="usa-file-input">` (the import on the publish page):
// USWDS's own file input behaviour, packages/usa-file-input, bundled alone by
// scripts/update-assets.sh. Load it only on pages with such an input.
const fileInput = require("@uswds/uswds/js/usa-file-input");

const start = () => fileInput.on(document.body);
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
