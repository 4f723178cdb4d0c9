// Files imported `with { type: "text" }` (see assets.ts): their default export is the file's text.
declare module "*/static/app.css" {
  const text: string;
  export default text;
}
declare module "*/static/app.js" {
  const text: string;
  export default text;
}
declare module "htmx.org/dist/htmx.min.js" {
  const text: string;
  export default text;
}
declare module "*/static/favicon.svg" {
  const text: string;
  export default text;
}
