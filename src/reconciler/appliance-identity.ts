import { eq } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { settings } from "../db/schema.ts";
import { type DeviceIdentity, exportPrivateKeyPkcs8, generateDeviceIdentity, importDeviceIdentity } from "../gateway/identity.ts";
import type { Keyring } from "../secrets/keyring.ts";

const KEY = "gateway.deviceIdentity";

/**
 * The appliance's one Ed25519 device identity for every gateway it talks to. The private key is kept
 * encrypted with the appliance key; created on first use.
 */
export function applianceIdentity(db: Db, keyring: Keyring): DeviceIdentity {
  const row = db.select().from(settings).where(eq(settings.key, KEY)).get();
  if (row) return importDeviceIdentity(keyring.open("device-identity", JSON.parse(row.value) as string));
  const id = generateDeviceIdentity();
  const sealed = keyring.seal("device-identity", Buffer.from(exportPrivateKeyPkcs8(id)));
  db.insert(settings)
    .values({ key: KEY, value: JSON.stringify(sealed), updatedAt: Date.now() })
    .onConflictDoNothing()
    .run();
  // another process may have won the race: read back what is stored
  return applianceIdentity(db, keyring);
}
