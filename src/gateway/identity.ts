/**
 * Ed25519 device identity for the OpenClaw gateway handshake.
 *
 * One identity per control plane: the gateway pairs it silently on loopback and issues a device token
 * for it. This module is pure: it never persists anything. The caller stores the PKCS8 bytes from
 * {@link exportPrivateKeyPkcs8} encrypted at rest (the vault) and hands them back to
 * {@link importDeviceIdentity}.
 *
 * @example
 * const identity = generateDeviceIdentity();
 * const stored = exportPrivateKeyPkcs8(identity); // encrypt, then persist
 * const again = importDeviceIdentity(stored); // same deviceId
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";

/** Fixed DER header of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const ED25519_RAW_KEY_BYTES = 32;

export interface DeviceIdentity {
  /** sha256 hex of the raw 32-byte public key; the gateway re-derives it and rejects a mismatch. */
  readonly deviceId: string;
  /** base64url (unpadded) of the raw 32-byte public key. */
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/** What the `connect` request carries under `params.device`. */
export interface SignedDevice {
  id: string;
  publicKey: string;
  signature: string;
  signedAt: number;
  nonce: string;
}

export interface DeviceAuthPayloadFields {
  deviceId: string;
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  /** The challenge `ts` (ms since epoch); the gateway rejects values more than 2 minutes from its clock. */
  signedAt: number;
  /** The credential sent in `auth` (shared token, else device token); empty when none. */
  token?: string | null;
  /** The challenge nonce. */
  nonce: string;
  /** `client.platform` as sent in `connect`. */
  platform?: string | null;
  /** `client.deviceFamily` as sent in `connect`; empty when omitted. */
  deviceFamily?: string | null;
}

export class DeviceIdentityError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DeviceIdentityError";
  }
}

/** Creates a fresh identity. */
export function generateDeviceIdentity(): DeviceIdentity {
  const { privateKey } = generateKeyPairSync("ed25519");
  return identityFromPrivateKey(privateKey);
}

/** The private key as PKCS8 DER bytes, for the caller to encrypt and persist. */
export function exportPrivateKeyPkcs8(identity: DeviceIdentity): Uint8Array {
  return new Uint8Array(identity.privateKey.export({ format: "der", type: "pkcs8" }));
}

/** Rebuilds an identity from the PKCS8 DER bytes produced by {@link exportPrivateKeyPkcs8}. */
export function importDeviceIdentity(pkcs8Der: Uint8Array): DeviceIdentity {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(pkcs8Der), format: "der", type: "pkcs8" });
  } catch (error) {
    throw new DeviceIdentityError(
      "The stored gateway device key is not valid PKCS8 DER; it may be corrupt or encrypted with another key. Restore it from a backup or generate a new identity (bots will re-pair it on loopback).",
      { cause: error },
    );
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new DeviceIdentityError(
      `The stored gateway device key is ${privateKey.asymmetricKeyType ?? "an unknown"} key, not Ed25519; generate a new identity.`,
    );
  }
  return identityFromPrivateKey(privateKey);
}

/** The raw 32-byte public key of an identity. */
export function rawPublicKey(identity: DeviceIdentity): Uint8Array {
  return new Uint8Array(Buffer.from(identity.publicKey, "base64url"));
}

/** sha256 hex of a raw 32-byte Ed25519 public key. */
export function deviceIdFromRawPublicKey(raw: Uint8Array): string {
  if (raw.length !== ED25519_RAW_KEY_BYTES) {
    throw new DeviceIdentityError(`An Ed25519 public key has ${ED25519_RAW_KEY_BYTES} bytes, got ${raw.length}.`);
  }
  return createHash("sha256").update(raw).digest("hex");
}

/**
 * Lower-cases ASCII A–Z only and trims, as the gateway does for `platform`/`deviceFamily` before signing
 * (a locale-aware lower-case would break the signature for some inputs).
 */
export function normalizeDeviceMetadata(value: string | null | undefined): string {
  if (typeof value !== "string") return "";
  return value.trim().replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/**
 * The v3 string the device signs:
 * `v3|deviceId|clientId|clientMode|role|scopesCsv|signedAt|token|nonce|platform|deviceFamily`.
 */
export function buildDeviceAuthPayloadV3(fields: DeviceAuthPayloadFields): string {
  return [
    "v3",
    fields.deviceId,
    fields.clientId,
    fields.clientMode,
    fields.role,
    fields.scopes.join(","),
    String(fields.signedAt),
    fields.token ?? "",
    fields.nonce,
    normalizeDeviceMetadata(fields.platform),
    normalizeDeviceMetadata(fields.deviceFamily),
  ].join("|");
}

/** Ed25519 signature over the UTF-8 payload, base64url encoded. */
function signPayload(identity: DeviceIdentity, payload: string): string {
  return sign(null, Buffer.from(payload, "utf8"), identity.privateKey).toString("base64url");
}

/** Verifies a base64url signature against a base64url raw public key (used by tests and fakes). */
export function verifyPayloadSignature(publicKey: string, payload: string, signature: string): boolean {
  try {
    const key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(publicKey, "base64url")]),
      format: "der",
      type: "spki",
    });
    return verify(null, Buffer.from(payload, "utf8"), key, Buffer.from(signature, "base64url"));
  } catch {
    return false;
  }
}

/** Builds the signed `device` block for a `connect` request. */
export function signDeviceAuth(identity: DeviceIdentity, fields: Omit<DeviceAuthPayloadFields, "deviceId">): SignedDevice {
  const payload = buildDeviceAuthPayloadV3({ ...fields, deviceId: identity.deviceId });
  return {
    id: identity.deviceId,
    publicKey: identity.publicKey,
    signature: signPayload(identity, payload),
    signedAt: fields.signedAt,
    nonce: fields.nonce,
  };
}

function identityFromPrivateKey(privateKey: KeyObject): DeviceIdentity {
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  if (
    spki.length !== ED25519_SPKI_PREFIX.length + ED25519_RAW_KEY_BYTES ||
    !spki.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)
  ) {
    throw new DeviceIdentityError("The device key has a non-canonical Ed25519 public key encoding; generate a new identity.");
  }
  const raw = spki.subarray(ED25519_SPKI_PREFIX.length);
  return Object.freeze({
    deviceId: deviceIdFromRawPublicKey(raw),
    publicKey: raw.toString("base64url"),
    privateKey,
  });
}
