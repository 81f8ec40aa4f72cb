// govuk-frontend's components (skip link, header and service navigation menus, ...) start here.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
