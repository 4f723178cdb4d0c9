import { createHash, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  buildDeviceAuthPayloadV3,
  DeviceIdentityError,
  deviceIdFromRawPublicKey,
  exportPrivateKeyPkcs8,
  generateDeviceIdentity,
  importDeviceIdentity,
  normalizeDeviceMetadata,
  rawPublicKey,
  signDeviceAuth,
  verifyPayloadSignature,
} from "../../src/gateway/identity.ts";

describe("gateway device identity", () => {
  it("derives deviceId as sha256 hex of the raw 32-byte public key, publicKey as unpadded base64url", () => {
    const identity = generateDeviceIdentity();
    const raw = rawPublicKey(identity);
    expect(raw).toHaveLength(32);
    expect(identity.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(identity.deviceId).toBe(createHash("sha256").update(raw).digest("hex"));
    expect(identity.deviceId).toMatch(/^[0-9a-f]{64}$/);
  });

  it("round-trips through PKCS8 DER bytes with the same deviceId and a working key", () => {
    const identity = generateDeviceIdentity();
    const der = exportPrivateKeyPkcs8(identity);
    expect(der).toBeInstanceOf(Uint8Array);
    expect(der.length).toBe(48); // canonical Ed25519 PKCS8
    const again = importDeviceIdentity(der);
    expect(again.deviceId).toBe(identity.deviceId);
    expect(again.publicKey).toBe(identity.publicKey);
    const device = signDeviceAuth(again, {
      clientId: "gateway-client",
      clientMode: "backend",
      role: "operator",
      scopes: ["operator.read"],
      signedAt: 1,
      nonce: "n",
    });
    const payload = buildDeviceAuthPayloadV3({
      deviceId: identity.deviceId,
      clientId: "gateway-client",
      clientMode: "backend",
      role: "operator",
      scopes: ["operator.read"],
      signedAt: 1,
      nonce: "n",
    });
    expect(verifyPayloadSignature(identity.publicKey, payload, device.signature)).toBe(true);
  });

  it("rejects bytes that are not an Ed25519 PKCS8 key, with advice", () => {
    expect(() => importDeviceIdentity(new Uint8Array([1, 2, 3]))).toThrow(DeviceIdentityError);
    expect(() => importDeviceIdentity(new Uint8Array([1, 2, 3]))).toThrow(/generate a new identity|backup/);
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ecDer = new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" }));
    expect(() => importDeviceIdentity(ecDer)).toThrow(/not Ed25519/);
  });

  it("builds the exact v3 payload (scopes CSV in order, token, lower-cased platform/deviceFamily)", () => {
    const payload = buildDeviceAuthPayloadV3({
      deviceId: "dev",
      clientId: "gateway-client",
      clientMode: "backend",
      role: "operator",
      scopes: ["operator.read", "operator.admin"],
      signedAt: 1737264000000,
      token: "tok",
      nonce: "nonce-1",
      platform: " Linux ",
      deviceFamily: "Linux",
    });
    expect(payload).toBe(
      "v3|dev|gateway-client|backend|operator|operator.read,operator.admin|1737264000000|tok|nonce-1|linux|linux",
    );
  });

  it("leaves empty fields for a missing token, platform and deviceFamily", () => {
    const payload = buildDeviceAuthPayloadV3({
      deviceId: "d",
      clientId: "cli",
      clientMode: "cli",
      role: "operator",
      scopes: [],
      signedAt: 0,
      nonce: "n",
    });
    expect(payload).toBe("v3|d|cli|cli|operator||0||n||");
  });

  it("lower-cases ASCII only, like the gateway (no locale folding)", () => {
    expect(normalizeDeviceMetadata("MacOS")).toBe("macos");
    expect(normalizeDeviceMetadata("İOS")).toBe("İos");
    expect(normalizeDeviceMetadata(undefined)).toBe("");
    expect(normalizeDeviceMetadata("   ")).toBe("");
  });

  it("signs the device block with the challenge nonce and ts, verifiable with the public key", () => {
    const identity = generateDeviceIdentity();
    const fields = {
      clientId: "gateway-client",
      clientMode: "backend",
      role: "operator",
      scopes: ["operator.read", "operator.admin"],
      signedAt: 1795319297172,
      token: "secret-token",
      nonce: "abc",
      platform: "linux",
      deviceFamily: "Linux",
    };
    const device = signDeviceAuth(identity, fields);
    expect(device).toMatchObject({ id: identity.deviceId, publicKey: identity.publicKey, signedAt: 1795319297172, nonce: "abc" });
    expect(device.signature).toMatch(/^[A-Za-z0-9_-]{86}$/);
    const payload = buildDeviceAuthPayloadV3({ ...fields, deviceId: identity.deviceId });
    expect(verifyPayloadSignature(identity.publicKey, payload, device.signature)).toBe(true);
    expect(verifyPayloadSignature(identity.publicKey, payload.replace("abc", "abd"), device.signature)).toBe(false);
    expect(verifyPayloadSignature(generateDeviceIdentity().publicKey, payload, device.signature)).toBe(false);
    expect(JSON.stringify(device)).not.toContain("secret-token");
  });

  it("refuses a raw public key of the wrong length", () => {
    expect(() => deviceIdFromRawPublicKey(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});
