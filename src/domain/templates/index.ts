export * from "./schema.ts";
export * from "./render.ts";
export { BUILTIN_EXAMPLE_INPUTS, BUILTIN_TEMPLATES, builtinTemplate } from "./builtins.ts";
