import { describe, expect, it } from "vitest";
import { makeTestApp } from "../helpers/app.ts";

describe("smoke", () => {
  it("serves healthz and openapi", async () => {
    const t = makeTestApp();
    expect((await t.req("/healthz")).status).toBe(200);
    const doc = (await (await t.req("/api/v1/openapi.json")).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/api/v1/audit");
  });
});
