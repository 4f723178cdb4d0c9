import css from "../../views/static/app.css" with { type: "text" };
import appJs from "../../views/static/app.js" with { type: "text" };
import htmx from "htmx.org/dist/htmx.min.js" with { type: "text" };
export const all = { css, appJs, htmx };
