export { BUILTIN_EXAMPLE_INPUTS, BUILTIN_TEMPLATES, builtinTemplate } from "./builtins.ts";
export * from "./render.ts";
export * from "./schema.ts";
