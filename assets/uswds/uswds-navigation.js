// The header's mobile menu on every page (the Menu button, the close button, the overlay, focus
// kept in the open menu, Escape to close): USWDS's own navigation behaviour, packages/usa-header,
// bundled alone by scripts/update-assets.sh instead of the whole uswds.min.js (79 KB), of which
// the portal used only this and the file input.
const navigation = require("@uswds/uswds/js/usa-header");

const start = () => navigation.on(document.body);
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
